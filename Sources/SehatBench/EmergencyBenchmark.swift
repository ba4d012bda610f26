import SehatSupport
import Foundation
import SehatFHIR
import SehatJSON
import SehatStore
import SehatSandbox
import SehatSync

/// `sehat bench emergency`: a clinic backlog queued, the link down, a panic report recorded
/// last; the link comes up and the engine starts. Measures the time from link-up to the
/// emergency service's 2xx, beside one round trip to it measured in the same run.
package enum EmergencyBenchmark {
    package struct Result {
        package let clinicItems: Int
        package let latencyMilliseconds: Int
        package let roundTrip: Double
        package let toFirst2xx: Double
        package let firstRequestPath: String
    }

    /// Notes when the first answer from the emergency service came back.
    final class Stopwatch: HTTPTransport {
        let base: any HTTPTransport
        let answered = Locked<DispatchTime?>(nil)
        init(_ base: any HTTPTransport) { self.base = base }
        func send(_ call: HTTPCall) async throws -> HTTPAnswer {
            let answer = try await base.send(call)
            if call.url.hasSuffix("/api/emergency/notify"), (200..<300).contains(answer.status) {
                answered.withLock { if $0 == nil { $0 = DispatchTime.now() } }
            }
            return answer
        }
    }

    /// With `withNIKs`, the report names a registered victim and volunteer, so its SATUSEHAT
    /// side (lookups, site, Encounter, Observation) is queued in the emergency lane too: the
    /// webhook must still be the first request.
    package static func run(clinicItems: Int, latencyMilliseconds: Int, withNIKs: Bool = false, directory: String,
                            progress: (String) -> Void) throws -> Result {
        var settings = Sandbox.Configuration()
        let victim = SampleClinic.patients[0], volunteer = SampleClinic.practitioners[0]
        settings.resources = [Sandbox.person("Patient", nik: victim.nik, name: victim.name), Sandbox.person("Practitioner", nik: volunteer.0, name: volunteer.1)]
        var faults = FaultPlan()
        faults.latencyMilliseconds = latencyMilliseconds
        settings.faults = faults
        let sandbox = try Sandbox(configuration: settings)
        defer { sandbox.stop() }
        let path = directory + "/bench-emergency.db"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let client = try SehatClient(path: path)
        try SampleClinic.configure(client, directory: directory, baseURL: sandbox.fhirBaseURL, authURL: sandbox.authURL,
                                   emergencyURL: sandbox.emergencyURL)
        progress("queueing \(clinicItems) clinic items")
        try ClinicBacklog.fill(client, items: clinicItems)
        let link = Locked(LinkState(mode: .offline))
        if withNIKs {
            try client.addPatient(victim)
            try client.addPractitioner(nik: volunteer.0, name: volunteer.1)
        }
        try client.recordPanic(PanicReport(latitude: -6.2088, longitude: 106.8456, severity: .critical, type: "cardiac_arrest",
                                           victimNIK: withNIKs ? victim.nik : nil, volunteerNIK: withNIKs ? volunteer.0 : nil))
        let stopwatch = Stopwatch(SimulatedLink(wrapping: URLSessionTransport()) { link.withLock { $0 } })
        var configuration = SyncConfiguration()
        configuration.requestsPerMinute = 0
        let engine = try SyncEngine(client: client, transport: stopwatch, configuration: configuration)

        // One round trip to the emergency service, on the same transport, for the baseline.
        link.withLock { $0 = .online }
        let probeStart = DispatchTime.now()
        _ = try waitFor { try await URLSessionTransport().send(HTTPCall(method: "GET", url: sandbox.emergencyURL + "/api/emergency/health")) }
        let roundTrip = Double(DispatchTime.now().uptimeNanoseconds - probeStart.uptimeNanoseconds) / 1e9

        // Link up: drain for a moment and note when the emergency service answered.
        let linkUp = DispatchTime.now()
        _ = try waitFor { try await engine.sync(timeout: 2) }
        guard let answered = stopwatch.answered.withLock({ $0 }) else {
            throw SyncBenchmark.BenchError(message: "the panic report did not reach the emergency service")
        }
        let first = sandbox.requestLog().first { $0.path != "/oauth2/v1/accesstoken" && $0.path != "/api/emergency/health" }
        return Result(clinicItems: clinicItems, latencyMilliseconds: latencyMilliseconds, roundTrip: roundTrip,
                      toFirst2xx: Double(answered.uptimeNanoseconds - linkUp.uptimeNanoseconds) / 1e9, firstRequestPath: first?.path ?? "-")
    }
}
