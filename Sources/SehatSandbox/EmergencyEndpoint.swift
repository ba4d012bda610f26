import Foundation
import SehatJSON

/// The emergency service's side (PSC 119): `POST /api/emergency/notify` records a webhook
/// envelope once per `event_id` (a repeat is acknowledged, not stored again), and
/// `PUT /api/emergency/{id}/status` records status changes.
extension SandboxState {
    static let emergencyPrefix = "/api/emergency/"

    mutating func emergency(_ request: HTTPRequest, fault: FaultPlan.Decision) -> HTTPDisposition {
        applying(fault, to: request) { $0.route(emergency: request) }
    }

    mutating func route(emergency request: HTTPRequest) -> HTTPResponse {
        let rest = request.path.dropFirst(SandboxState.emergencyPrefix.count).split(separator: "/").map(String.init)
        let envelope = try? JSON.parse(bytes: request.body)
        func ok(_ status: Int, _ data: JSON) -> HTTPResponse {
            .json(status, JSON.obj(["success": true, "data": data, "error": .null]).text, contentType: "application/json")
        }
        func refuse(_ text: String) -> HTTPResponse {
            .json(400, JSON.obj(["success": false, "data": .null, "error": .obj(["code": "VALIDATION_ERROR", "message": .string(text)])]).text,
                  contentType: "application/json")
        }
        switch (request.method, rest.count) {
        case ("POST", 1) where rest[0] == "notify":
            guard let envelope, let eventID = envelope["event_id"]?.stringValue,
                envelope["event_type"]?.stringValue == "emergency.created", let emergencyID = envelope.value(at: "data.emergency_id")?.stringValue
            else { return refuse("expected the webhook envelope {event_id, event_type: emergency.created, timestamp, data}") }
            if emergencyEvents[eventID] != nil { return ok(200, .obj(["event_id": .string(eventID), "duplicate": true])) }
            emergencyEvents[eventID] = envelope
            emergencyOrder.append(eventID)
            return ok(202, .obj(["event_id": .string(eventID), "emergency_id": .string(emergencyID), "status": "received"]))
        case ("PUT", 2) where rest[1] == "status":
            guard let envelope else { return refuse("expected a JSON status update") }
            emergencyStatusUpdates.append((rest[0], envelope))
            return ok(200, .obj(["emergency_id": .string(rest[0])]))
        default:
            return .text(404, "no such emergency endpoint: \(request.method) \(request.path)")
        }
    }
}
