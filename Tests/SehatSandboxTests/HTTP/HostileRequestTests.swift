import Foundation
import SehatSandbox
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// What a broken or hostile client can send the sandbox: every request is answered or the
/// connection closed, and the sandbox keeps serving. Raw sockets, on loopback, bounded by a
/// receive timeout.
final class HostileRequestTests: XCTestCase {
    var sandbox: Sandbox!
    override func tearDown() { sandbox?.stop() }

    private func start(_ change: (inout Sandbox.Configuration) -> Void = { _ in }) throws {
        var configuration = Sandbox.Configuration()
        change(&configuration)
        sandbox = try Sandbox(configuration: configuration)
    }

    /// A connected socket whose reads give up after `timeout` seconds.
    private func connect(timeout: Int = 5) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = sandbox.port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// Sends `bytes` and reads until the server closes or goes quiet.
    private func exchange(_ bytes: [UInt8], fd existing: Int32? = nil) throws -> String {
        let fd = try existing ?? connect()
        defer { if existing == nil { close(fd) } }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            answer += chunk[0..<count]
            if let text = String(validating: answer, as: UTF8.self), text.contains("Connection: close\r\n\r\n") || text.contains("keep-alive\r\n\r\n") {
                if let length = text.range(of: "Content-Length: ").map({ Int(text[$0.upperBound...].prefix { $0.isNumber }) ?? 0 }),
                    let bodyStart = text.range(of: "\r\n\r\n"), text[bodyStart.upperBound...].utf8.count >= length
                {
                    break
                }
            }
        }
        return String(decoding: answer, as: UTF8.self)
    }

    private func statusLine(_ request: String) throws -> String {
        try exchange(Array(request.utf8)).components(separatedBy: "\r\n").first ?? ""
    }

    func testMalformedRequestsAreAnsweredNotFatal() throws {
        try start()
        let cases: [(String, String)] = [
            ("POST /admin/faults HTTP/1.1\r\nContent-Length: -5\r\n\r\n", "400"),
            ("POST /fhir-r4/v1/Patient HTTP/1.1\r\nContent-Length: -5\r\n\r\n", "400"),
            ("POST /fhir-r4/v1/Patient HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello", "400"),
            ("POST /fhir-r4/v1/Patient HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", "400"),
            ("POST /fhir-r4/v1/Patient HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", "400"),
            ("POST /fhir-r4/v1/Patient HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n", "413"),
            ("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "411"),
            ("GARBAGE\r\n\r\n", "400"),
            ("GET nopath HTTP/1.1\r\n\r\n", "400"),
            ("GET / HTTP/1.1\r\nno colon here\r\n\r\n", "400"),
            ("GET / HTTP/1.1\r\n" + (0..<150).map { "X-\($0): y\r\n" }.joined() + "\r\n", "431"),
            ("GET /" + String(repeating: "a", count: 70_000) + " HTTP/1.1\r\n\r\n", "431"),
        ]
        for (request, status) in cases {
            XCTAssertEqual(try statusLine(request), "HTTP/1.1 \(status) " + statusReason(status), String(request.prefix(60)))
        }
        var invalidHead = Array("GET /".utf8) + [0xFF, 0xFE] + Array(" HTTP/1.1\r\n\r\n".utf8)
        XCTAssertTrue(try exchange(invalidHead).hasPrefix("HTTP/1.1 400"))
        // Still serving.
        XCTAssertTrue(try statusLine("GET /nowhere HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 404"))
    }

    private func statusReason(_ status: String) -> String {
        ["400": "Bad Request", "411": "Length Required", "413": "Payload Too Large", "431": "Request Header Fields Too Large"][status] ?? ""
    }

    func testTheAdminAPIRefusesBeforeReadingTheBody() throws {
        try start()
        // A client announcing 60 MB without the token gets its 401 at once: the body is never read.
        let head = "POST /admin/seed HTTP/1.1\r\nContent-Length: 60000000\r\n\r\n"
        XCTAssertTrue(try exchange(Array(head.utf8)).hasPrefix("HTTP/1.1 401"))
        XCTAssertEqual(sandbox.requestLog().count, 0)
    }

    func testFaultValuesOutsideTheirRangesAreRefused() {
        for spec in ["latency=1e300", "retry-after=inf", "retry-after=1e30", "latency=nan", "latency=0.5", "503=2", "drop=-1", "latency=60001"] {
            XCTAssertThrowsError(try FaultPlan(spec: spec), spec)
        }
        XCTAssertEqual(try FaultPlan(spec: "latency=60000,retry-after=86400").latencyMilliseconds, 60_000)
    }

    func testTheRequestLogIsBounded() throws {
        try start { $0.requestLogLimit = 10 }
        for _ in 0..<35 { _ = try statusLine("GET /fhir-r4/v1/Patient HTTP/1.1\r\n\r\n") }
        let kept = sandbox.requestLog().count
        XCTAssertGreaterThan(kept, 0)
        XCTAssertLessThanOrEqual(kept, 10)
    }

    func testIdleConnectionsAreClosedAndConnectionsAreCapped() throws {
        try start { $0.limits.idleSeconds = 1; $0.limits.connections = 2 }
        let first = try connect()
        defer { close(first) }
        let second = try connect()
        defer { close(second) }
        // Give the accept loop a moment to count both (bounded: the third's answer decides).
        var third = ""
        for _ in 0..<50 where !third.hasPrefix("HTTP/1.1 503") {
            third = try exchange(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        }
        XCTAssertTrue(third.hasPrefix("HTTP/1.1 503"), third)
        // The idle ones are closed by the server within its idle timeout (the read sees EOF,
        // not our own 5 s receive timeout).
        let started = Date()
        var byte: UInt8 = 0
        XCTAssertEqual(recv(first, &byte, 1, 0), 0, "closed by the server")
        XCTAssertLessThan(Date().timeIntervalSince(started), 4.5)
    }
}
