import SehatJSON

/// One problem the sandbox reports, as SATUSEHAT phrases it (`… (RuleNumber: NNNNN)`).
struct Issue: Sendable {
    var code: String
    var text: String
    var expression: String?
    var severity = "error"

    /// A rule violation; the text ends with its rule number. 10117 is SATUSEHAT's own number
    /// for a wrong organization; the others are the sandbox's.
    static func rule(_ number: Int, _ text: String, at expression: String? = nil, code: String = "invalid") -> Issue {
        Issue(code: code, text: "\(text) (RuleNumber: \(number))", expression: expression)
    }
}

enum OperationOutcome {
    static func json(_ issues: [Issue]) -> JSON {
        .obj([
            "resourceType": "OperationOutcome",
            "issue": .array(issues.map { issue in
                .obj([
                    "severity": .string(issue.severity), "code": .string(issue.code),
                    "details": .obj(["text": .string(issue.text)]),
                    "expression": issue.expression.map { [.string($0)] },
                ])
            }),
        ])
    }
}
