// The libFuzzer harnesses: one executable, the harness named by its first argument, the rest
// handed to libFuzzer. Built only when SEHAT_FUZZ is set (see Package.swift and
// Tests/run-fuzzers.sh), in release mode with -enable-testing so it reaches the internal
// stages exactly as the engine runs them, and with coverage instrumentation on every module.
//
//     Tests/run-fuzzers.sh 60          # every harness for 60 s each
//     .build/release/sehat-fuzz json corpus/json -max_total_time=30
//
// A harness returns normally for every input, refused or not; a trap, an overflow or a
// broken invariant (checked with `precondition`) is a crash libFuzzer reports and saves.
import Foundation
import SehatFHIR
import SehatJSON
@testable import SehatSandbox
@testable import SehatSync

#if canImport(Glibc)
import Glibc
#endif

typealias Harness = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: Harness) -> Int32

/// The bytes libFuzzer hands over.
func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Text the way a document reaches the SDK: only valid UTF-8 does (the host refuses the rest).
func text(_ data: UnsafePointer<UInt8>?, _ size: Int) -> String? {
    String(validating: bytes(data, size), as: UTF8.self)
}

let now = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01

let harnesses: [String: Harness] = [
    // The JSON parser: anything it accepts writes back to text that parses to the same value.
    "json": { data, size in
        if let value = try? JSON.parse(bytes: bytes(data, size)) {
            let again = try? JSON.parse(value.text)
            precondition(again == value, "JSON written and read again differs")
        }
        return 0
    },
    // The streamed reader of a bundle file: it refuses what the parser refuses, and what it
    // accepts it hands over as the parser builds it.
    "stream": { data, size in
        let input = bytes(data, size)
        let path = NSTemporaryDirectory() + "sehat-fuzz-stream-\(getpid()).json"
        guard FileManager.default.createFile(atPath: path, contents: Data(input)) else { return 0 }
        defer { try? FileManager.default.removeItem(atPath: path) }
        var members: [JSON.Member] = []
        var elements: [JSON] = []
        let streamed = Result { try JSONObjectStream(path: path, arrayMember: "entry").read(
            member: { members.append(JSON.Member($0, $1)) }, element: { _, value in elements.append(value) }) }
        let parsed = try? JSON.parse(bytes: input)
        switch (streamed, parsed) {
        case (.success(let count), .some(let parsed)):
            precondition(parsed.members?.count == members.count + (count != nil ? 1 : 0), "members lost or added")
            for member in members { precondition(parsed[member.key] == member.value, "member \(member.key) differs") }
            if count != nil { precondition(parsed["entry"] == .array(elements), "the entries differ") }
        case (.success, .none):
            preconditionFailure("the stream accepts what the parser refuses")
        case (.failure, .some(let parsed)):
            if case .object = parsed { preconditionFailure("the parser accepts an object the stream refuses") }
        case (.failure, .none):
            break
        }
        return 0
    },
    // An encounter document: parsed, then validated as recording does.
    "encounter": { data, size in
        guard let text = text(data, size), let document = try? EncounterDocument(json: text) else { return 0 }
        try? document.validate(now: now, profile: .satusehat)
        try? document.validate(now: now, profile: .fhir)
        return 0
    },
    // A panic report.
    "panic": { data, size in
        guard let text = text(data, size), let report = try? PanicReport(json: text) else { return 0 }
        try? report.validate(now: now)
        return 0
    },
    // A bundle to import: its shape, its references, their rewriting, the parents-first order.
    "bundle": { data, size in
        guard let text = text(data, size), let bundle = try? JSON.parseDocument(text, maxBytes: InputLimits.bundleEntries * 1_000),
            let entries = try? BundleImporter.checkShape(bundle)
        else { return 0 }
        let resources = entries.enumerated().map { index, entry -> (id: String, json: JSON) in
            let resource = entry["resource"]!.rewritingReferences { reference in
                if case .urn = reference { return "Basic/e\(index)" }
                return nil
            }
            return ("e\(index)", resource)
        }
        let ordered = BundleImporter.parentsFirst(resources)
        precondition(ordered.count == Set(resources.map(\.id)).count, "parents-first lost or repeated a resource")
        return 0
    },
    // The sandbox's request parser, whole and cut at every point of a short prefix: a cut
    // request needs more bytes or is refused, never misread.
    "http": { data, size in
        let input = bytes(data, size)
        let parser = HTTPRequestParser()
        if case .request(_, let consumed) = parser.parse(input[...]) { precondition(consumed <= input.count) }
        for cut in stride(from: 0, to: min(input.count, 64), by: 7) {
            if case .request(_, let consumed) = parser.parse(input[..<cut]) { precondition(consumed <= cut) }
        }
        return 0
    },
    // What the server answers: the first byte picks a status, the second which headers come
    // with it, the rest is the body. Every reader of the pipeline reads it.
    "answer": { data, size in
        let input = bytes(data, size)
        guard input.count >= 2 else { return 0 }
        let statuses = [200, 201, 204, 301, 302, 400, 401, 403, 404, 409, 410, 412, 422, 429, 500, 502, 503, 504]
        let status = statuses[Int(input[0]) % statuses.count]
        let body = Array(input.dropFirst(2))
        let bodyText = String(decoding: body, as: UTF8.self)
        var headers: [String: String] = [:]
        if input[1] & 1 != 0 { headers["content-type"] = "application/fhir+json" }
        if input[1] & 2 != 0 { headers["content-type"] = "text/html" }
        if input[1] & 4 != 0 { headers["retry-after"] = String(bodyText.prefix(12)) }
        if input[1] & 8 != 0 { headers["location"] = String(bodyText.prefix(200)) }
        let base = "http://127.0.0.1:1/fhir-r4/v1"
        let attempt = Attempt(call: HTTPCall(method: "POST", url: base + "/Observation"), requestID: "fuzz", outcome:
            .answered(HTTPAnswer(status: status, headers: headers, body: body)), milliseconds: 1)
        let items = (1...2).map { id in
            ClaimedItem(id: Int64(id), operation: id == 1 ? .create : .lookup, target: .satusehat, resourceType: "Observation",
                        resourceID: "local-\(id)", reportID: nil, groupID: "g", payload: nil, resource: .obj(["resourceType": "Observation"]),
                        identifier: BusinessIdentifier(system: "http://sys-ids.kemkes.go.id/observation/10000004", value: "OBS-\(id)"),
                        serverID: nil, attempts: Int(input[1] >> 4), maxRetries: 3, lane: .clinic, needsCheck: false)
        }
        let reader = AnswerReader(backoff: Backoff(initial: 1, cap: 60))
        _ = reader.single(attempt, for: items[0], now: now)
        _ = reader.search(attempt)
        _ = reader.adoption(attempt, refusal: "duplicate", for: items[0], now: now)
        _ = reader.bundle(attempt, items: items, plans: items.map { BundleEntryPlan(resourceID: $0.resourceID!, itemIDs: [$0.id]) }, now: now)
        _ = reader.bundleAdoption(attempt, refusal: "duplicate", for: items[1], now: now)
        _ = AnswerReader.id(fromLocation: headers["location"])
        _ = ReceiverCheck.foreignAnswer(to: attempt.call, HTTPAnswer(status: status, headers: headers, body: body))
        if let retry = HTTPAnswer(status: status, headers: headers, body: body).retryAfter {
            precondition(retry.isFinite && retry >= 0 && retry <= HTTPAnswer.longestRetryAfter)
        }
        return 0
    },
]

var arguments = CommandLine.arguments
guard arguments.count >= 2, let harness = harnesses[arguments[1]] else {
    FileHandle.standardError.write(Data("usage: sehat-fuzz \(harnesses.keys.sorted().joined(separator: "|")) [libFuzzer options] [corpus…]\n".utf8))
    exit(2)
}
arguments.remove(at: 1)
var argc = Int32(arguments.count)
var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
cArguments.withUnsafeMutableBufferPointer { buffer in
    var argv = buffer.baseAddress
    exit(LLVMFuzzerRunDriver(&argc, &argv, harness))
}
