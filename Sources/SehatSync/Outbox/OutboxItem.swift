/// The lane an item travels in: emergency work always goes before clinic work.
public enum Lane: String, Sendable, CaseIterable {
    /// Panic reports and what belongs to them: always first, with slots of its own.
    case emergency
    /// Everything else a clinic records.
    case clinic
}

/// Where an item is in its life.
public enum ItemStatus: String, Sendable, CaseIterable {
    /// Waiting: ready once due and its dependencies are completed.
    case pending
    /// Handed to a transport; goes back to pending if the process dies.
    case processing
    /// The receiver acknowledged it.
    case completed
    /// Refused by the server (client error); kept for a person to fix.
    case failed
    /// Given up on, with the reason; never dropped.
    case dead
    /// Waiting on something other than time: a failed dependency, consent, a registration.
    case held
    /// Withdrawn before it reached the server, with the visit it belonged to (`sehat encounter
    /// cancel`): it never leaves. Stored as `dead` with the `withdrawn` flag set.
    case withdrawn
    /// An update the server refused because someone else changed the resource since the
    /// version it was based on (412): both versions are kept and a person chooses
    /// (`SehatClient.resolveConflict`). Stored as `failed` with the `conflict` flag set.
    case conflict
}

/// What an item does on the server.
public enum Operation: String, Sendable, CaseIterable {
    /// POST a new resource.
    case create
    /// PUT a new version of a resource already created.
    case update
    /// Search a resource the server already has (Patient and Practitioner by NIK).
    case lookup
    /// Deliver a webhook to the emergency service.
    case notify
}

/// Who receives an item.
public enum Target: String, Sendable, CaseIterable {
    /// SATUSEHAT's FHIR API.
    case satusehat
    /// The emergency service's webhook API (PSC 119).
    case emergency
}

/// One queued operation, as read back from the outbox.
public struct OutboxItem: Sendable, Equatable {
    /// The outbox sequence number.
    public let id: Int64
    /// Its lane.
    public let lane: Lane
    /// `{service}.{operation}.{priority}`, e.g. `notification.emergency.critical`.
    public let queue: String
    /// Who receives it.
    public let target: Target
    /// What it does there.
    public let operation: Operation
    /// The FHIR type, for SATUSEHAT items.
    public let resourceType: String?
    /// The resource's local id.
    public let resourceID: String?
    /// The panic report, for emergency items.
    public let reportID: String?
    /// The visit it belongs to.
    public let encounterID: String?
    /// Lower goes first among ready items.
    public let priority: Int
    /// Where it is in its life.
    public let status: ItemStatus
    /// Counted attempts so far (offline ones do not count).
    public let attempts: Int
    /// Counted attempts before it is escalated (or, for webhooks, dead-lettered).
    public let maxRetries: Int
    /// Unix milliseconds.
    public let nextAttemptAt: Int64
    /// Items that must complete first.
    public let dependsOn: [Int64]
    /// How many of `dependsOn` are not completed yet.
    public let unresolvedDependencies: Int
    /// Why a `held` item waits, when it does.
    public let hold: HoldReason?
    /// The last failure's text, as the server or the transport gave it (for a person).
    public let lastError: String?
    /// When it was escalated to a person (failed `maxRetries` times and keeps retrying).
    public let escalated: Bool
}

/// Why an item is `held`: it waits on something other than time. Stored as typed columns
/// (`hold_kind`, `hold_detail`, `hold_item`); sentences for people are built by the app.
public enum HoldReason: Sendable, Equatable {
    /// An item it depends on (directly or through others) cannot go on: that item is
    /// failed, dead, or itself held.
    case waitsOn(item: Int64, because: ItemStatus)
    /// The patient's consent does not let it leave the device.
    case consent(ConsentRefusal)
    /// A lookup found no one with the person's NIK in SATUSEHAT: they must be registered
    /// through another channel first.
    case registrationRequired

    /// The stored kind.
    var kind: String {
        switch self {
        case .waitsOn: return "waits_on"
        case .consent: return "consent"
        case .registrationRequired: return "registration"
        }
    }

    /// The stored detail.
    var detail: String? {
        switch self {
        case .waitsOn(_, let status): return status.rawValue
        case .consent(let refusal): return refusal.rawValue
        case .registrationRequired: return nil
        }
    }

    /// The item waited on, for `waitsOn`.
    var item: Int64? {
        if case .waitsOn(let item, _) = self { return item }
        return nil
    }

    /// Reads the stored columns back; nil when the item is not held.
    init?(kind: String?, detail: String?, item: Int64?) {
        switch kind {
        case "waits_on":
            guard let item else { return nil }
            self = .waitsOn(item: item, because: detail.flatMap(ItemStatus.init) ?? .failed)
        case "consent":
            self = .consent(detail.flatMap(ConsentRefusal.init) ?? .notGiven)
        case "registration":
            self = .registrationRequired
        default:
            return nil
        }
    }
}

/// Why a patient's consent keeps an item on the device (seeds/004, "Consent Management").
public enum ConsentRefusal: String, Sendable, CaseIterable {
    /// Consent scope `none`: nothing may leave.
    case notGiven = "not_given"
    /// Scope `encounter_only`, and this item is not identity or encounter data.
    case encounterOnly = "encounter_only"
    /// The consent's validity starts later.
    case notYetValid = "not_yet_valid"
    /// The consent's validity has ended.
    case expired
    /// The patient revoked consent.
    case revoked
}

/// How many items are in one lane and status.
public struct OutboxCount: Sendable, Equatable {
    /// The lane counted.
    public let lane: Lane
    /// The status counted.
    public let status: ItemStatus
    /// How many items.
    public let count: Int
}
