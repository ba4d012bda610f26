import Foundation
import SehatBench
import SehatFHIR
import SehatJSON
import SehatSandbox
import SehatStore
import XCTest

@testable import SehatSync

/// A clinic device wired to an in-process sandbox on loopback, sharing one manual clock.
struct SandboxClinic {
    let clinic: TestClinic
    let sandbox: Sandbox
    var client: SehatClient { clinic.client }
    var clock: ManualClock { clinic.clock }

    init(mode: Sandbox.Mode = .satusehat, profile: Profile = .satusehat, register: Bool = true, seedPeople: Bool = true,
         keepBodies: Bool = false, oauthStyle: Sandbox.OAuthStyle = .satusehat, registryPeople: Int = 0,
         unknownCodes: Set<String> = [], name: String = #function) throws {
        clinic = try TestClinic(profile: profile, register: false, name: name)
        var configuration = Sandbox.Configuration()
        configuration.mode = mode
        configuration.keepBodies = keepBodies
        configuration.oauth = oauthStyle
        configuration.registry.people = registryPeople
        configuration.unknownCodes = unknownCodes
        let clock = clinic.clock
        configuration.now = { clock.now() }
        if seedPeople {
            configuration.resources = SampleClinic.patients.map { Sandbox.person("Patient", nik: $0.nik, name: $0.name) }
                + SampleClinic.practitioners.map { Sandbox.person("Practitioner", nik: $0.0, name: $0.1) }
        }
        sandbox = try Sandbox(configuration: configuration)
        try "sandbox-secret\n".write(toFile: clinic.directory + "/sandbox-secret", atomically: true, encoding: .utf8)
        try clinic.client.configure(Configuration(
            orgID: SampleClinic.orgID, clientID: "sandbox-client", clientSecretFile: clinic.directory + "/sandbox-secret", profile: profile,
            baseURL: sandbox.fhirBaseURL, authURL: sandbox.authURL, emergencyURL: sandbox.emergencyURL))
        if register { _ = try SampleClinic.register(clinic.client) }
    }

    func engine(_ configure: (inout SyncConfiguration) -> Void = { _ in }) throws -> SyncEngine {
        var settings = SyncConfiguration()
        (settings.criticalTimeout, settings.requestTimeout, settings.longTimeout) = (5, 5, 5)
        settings.requestsPerMinute = 0
        configure(&settings)
        return try SyncEngine(client: client, configuration: settings, sleeper: ClockSleeper(clock: clock))
    }

    func stop() {
        sandbox.stop()
        clinic.remove()
    }

    /// Every reference in every stored resource points at a resource the sandbox holds.
    func danglingReferences() -> [String] {
        let all = sandbox.resources()
        let known = Set(all.compactMap { r in r["id"]?.stringValue.map { "\(r["resourceType"]!.stringValue!)/\($0)" } })
        return all.flatMap { resource in
            resource.references().compactMap { site -> String? in
                if case .other(let text) = site.reference, text.hasPrefix("#") { return nil }  // a contained resource
                guard case .relative(let type, let id) = site.reference else { return "\(site.path) → \(site.reference)" }
                return known.contains("\(type)/\(id)") ? nil : "\(site.path) → \(type)/\(id)"
            }
        }
    }

    /// Business identifiers that appear on more than one sandbox resource of a type.
    func duplicatedIdentifiers() -> [String] {
        var seen: [String: Int] = [:]
        for resource in sandbox.resources() {
            let type = resource["resourceType"]?.stringValue ?? ""
            for identifier in resource["identifier"]?.arrayValue ?? [resource["identifier"] ?? .null] {
                // The prescription (resep) number is shared by every item of one prescription by design
                // (SATUSEHAT: `prescription` and `prescription-item`); each item is its own by the latter.
                guard let value = identifier["value"]?.stringValue, identifier["system"]?.stringValue?.contains("/prescription/") != true else { continue }
                seen["\(type)|\(identifier["system"]?.stringValue ?? "")|\(value)", default: 0] += 1
            }
        }
        return seen.filter { $0.value > 1 }.map(\.key).sorted()
    }
}

/// Advances the manual clock instead of sleeping.
struct ClockSleeper: Sleeper {
    let clock: ManualClock
    func sleep(seconds: TimeInterval) async { clock.advance(by: seconds) }  // ManualClock: time moves, nothing waits
}
