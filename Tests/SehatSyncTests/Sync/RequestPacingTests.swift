import Foundation
import SehatBench
import SehatJSON
import SehatSandbox
import SehatStore
import XCTest

@testable import SehatSync

/// A property of the whole engine: whatever the server answers, no item is sent again
/// without its next attempt coming due — never a burst of requests for one item at one moment
/// (the hot loops this project has had: a re-check sent at once, a refusal nothing could fix).
final class RequestPacingTests: XCTestCase {
    func testNoItemIsSentInABurstWhateverTheServerAnswers() async throws {
        let setup = try SandboxClinic()
        defer { setup.stop() }
        for i in 0..<8 {
            try setup.client.recordEncounter(SampleClinic.visit(number: "PACE-\(i)", patient: SampleClinic.patients[i % 3], finishedBefore: TestClinic.now,
                                                                offsetMinutes: i))
        }
        // Resources the server will refuse for good (a dangling server reference), among the rest.
        try setup.client.database.write { conn in
            for row in try conn.query("SELECT local_id, json FROM resources WHERE resource_type = 'Observation' LIMIT 3") {
                var json = try JSON.parse(try row.string("json"))
                json["subject"] = .obj(["reference": "Patient/gone-from-the-server"])
                try conn.execute("UPDATE resources SET json = ? WHERE local_id = ?", [.text(json.text), row["local_id"]])
            }
        }
        setup.sandbox.setFaults(try FaultPlan(spec: "500=0.15,503=0.15,429=0.1,retry-after=0"))
        let engine = try setup.engine()
        _ = try await engine.sync(untilIdle: true, timeout: 3600)
        setup.sandbox.setFaults(FaultPlan())
        let report = try await engine.sync(untilIdle: true, timeout: 3600)
        XCTAssertEqual(report.count(.pending) + report.count(.processing), 0, "\(report.counts)")
        XCTAssertEqual(report.count(.failed), 3, "the three refused Observations, and nothing else")
        // Per item and per second of (injected) time, a handful of requests at most: a search
        // before re-sending, the request, a search after a duplicate. A refused pack is split in
        // halves at once, so an item rides in up to log2(groups) smaller bundles in that second:
        // bounded by construction (PackingTests bounds it), and not counted here.
        let bursts = try setup.client.database.read { conn in
            try conn.query(
                """
                SELECT item_id, created_at, count(*) AS n FROM sync_log WHERE outcome <> 'pack_refused_splitting'
                GROUP BY item_id, created_at HAVING n > 6
                """)
                .map { "\($0["item_id"].int64 ?? 0) at \($0["created_at"].string ?? ""): \($0["n"].int ?? 0)" }
        }
        XCTAssertEqual(bursts, [])
        let perItem = try setup.client.database.read { try $0.scalar("SELECT max(n) FROM (SELECT count(*) AS n FROM sync_log GROUP BY item_id)").int ?? 0 }
        XCTAssertLessThan(perItem, 60, "no item was sent without end")
    }
}
