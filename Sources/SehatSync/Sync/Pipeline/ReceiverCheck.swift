import Foundation
import SehatJSON

/// Whether an answer is the receiver's own (SATUSEHAT.md, "Networks in the field"): public
/// and hotel Wi-Fi put a captive portal in front of every request — a `200 text/html` login
/// page, or a redirect to one — and a proxy may answer for a server it cannot reach. Such an
/// answer is not success and not a refusal: the link is not really up.
enum ReceiverCheck {
    /// Why an answer is not the receiver's own, or nil when it is (or when it is an error
    /// the receiver may well have sent: those are read as refusals and failures).
    static func foreignAnswer(to call: HTTPCall, _ answer: HTTPAnswer) -> String? {
        let host = URL(string: call.url)?.host ?? call.url
        let kind = answer.headers["content-type"].map { " (\($0))" } ?? ""
        if (300..<400).contains(answer.status) {
            return "captive portal or proxy answered for \(host): a \(answer.status) redirect to \(answer.headers["location"] ?? "somewhere else")"
        }
        if answer.status == 511 { return "captive portal answered for \(host): 511 network authentication required" }
        guard (200..<300).contains(answer.status) else { return nil }
        let json = try? JSON.parse(bytes: answer.body)
        let isEmergency = call.url.contains("/api/emergency/")
        if isEmergency {
            // The emergency service answers with its JSON envelope (seeds/000 §3.1).
            if json?["success"]?.boolValue == true { return nil }
        } else if json?["resourceType"]?.stringValue != nil || AnswerReader.ruleViolations(json) != nil {
            return nil
        } else if answer.body.isEmpty && answer.headers["location"] != nil && call.method != "GET" {
            return nil  // a create answered by its Location alone
        }
        return "captive portal or proxy answered for \(host): \(answer.status)\(kind) that is not \(isEmergency ? "the emergency service's envelope" : "a FHIR answer")"
    }
}
