import SehatJSON

/// One problem the sandbox reports, as SATUSEHAT phrases it (`… (RuleNumber: NNNNN)`).
struct Issue: Sendable {
    var code: String
    var text: String
    var expression: String?
    var severity = "error"
    /// The rule broken, when one is (shown in the text, and alone in the array form).
    var rule: Int? = nil

    /// A rule violation; the text ends with its rule number. 10117 is SATUSEHAT's own number
    /// for a wrong organization; the others are the sandbox's.
    static func rule(_ number: Int, _ text: String, at expression: String? = nil, code: String = "invalid") -> Issue {
        Issue(code: code, text: "\(text) (RuleNumber: \(number))", expression: expression, rule: number)
    }

    /// SATUSEHAT's rule for a resource that exists already.
    static let duplicateRule = 20002
}

/// SATUSEHAT's other refusal form (SATUSEHAT.md, "How refusals really arrive"): a bare array
/// of rule violations, `[{"ruleNumber": "20002", "message": "Found duplicate: …"}]`.
enum RuleViolations {
    static func json(_ issues: [Issue]) -> JSON {
        .array(issues.map { issue in
            .obj(["ruleNumber": .string(String(issue.rule ?? (issue.code == "duplicate" ? Issue.duplicateRule : 10_000))),
                  "message": .string(issue.text)])
        })
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
