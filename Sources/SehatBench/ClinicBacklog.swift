import Foundation
import SehatSync
import SehatFHIR
import SehatJSON
import SehatStore

/// Fills a device's clinic lane with `count` ready items quickly (one Location create each,
/// written by SQL in one transaction), for benchmarks that need a long queue.
public enum ClinicBacklog {
    /// Adds `count` Location creates to the clinic lane, ready at once.
    public static func fill(_ client: SehatClient, items count: Int) throws {
        guard let org = try client.configuration()?.orgID else { throw NotConfiguredError() }
        let system = Systems.business("location", org: org)
        let stamp = FHIRDateTime.format(client.clock.now())
        try client.database.write { conn in
            try conn.execute(
                """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                INSERT INTO resources(local_id, resource_type, identifier_system, identifier_value, json, created_at, updated_at)
                SELECT 'backlog-' || i, 'Location', ?, 'BACKLOG-' || i,
                       json_object('resourceType', 'Location', 'identifier', json_array(json_object('system', ?, 'value', 'BACKLOG-' || i)),
                                   'status', 'active', 'name', 'Backlog ' || i, 'mode', 'instance',
                                   'managingOrganization', json_object('reference', 'Organization/' || ?)), ?, ?
                FROM n
                """, [.integer(Int64(count)), .text(system), .text(system), .text(org), .text(stamp), .text(stamp)])
            _ = try OutboxLifecycle(connection: conn, now: client.clock.now())
                .enqueueCreates(ofResourcesPrefixed: "backlog-", queue: "satusehat.location.normal", priority: 10, maxRetries: 3)
        }
    }
}
