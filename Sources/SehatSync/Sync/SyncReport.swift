import Foundation

/// What a sync run did and what is left.
public struct SyncReport: Sendable {
    /// HTTP requests sent (token requests not included).
    public var requests = 0
    /// Items completed by this run.
    public var completed = 0
    /// True when the server could not be reached.
    public var offline = false
    /// Set when something other than the receiver answered (a Wi-Fi login page, a proxy): the
    /// link is not really up, and nothing was counted or completed by such answers.
    public var notTheReceiver: String?
    /// Set when SATUSEHAT's token endpoint refused the device's credentials (or the way it
    /// asked): nothing can be sent until a person fixes that.
    public var authFailure: String?
    /// Outbox counts after the run.
    public var counts: [OutboxCount] = []
    /// How long the run took.
    public var seconds = 0.0
    /// In a progress snapshot: the lane it is about (each lane reports its own run); nil in
    /// the report of a whole sync.
    public var lane: Lane?
    /// In a progress snapshot: the newest error no later attempt has resolved.
    public var lastError: String?

    /// Items in `status` after the run.
    public func count(_ status: ItemStatus) -> Int { counts.filter { $0.status == status }.reduce(0) { $0 + $1.count } }

    /// 0: nothing left to send; 3: work remains (offline, backing off, held); 4: items failed,
    /// dead or in a version conflict (a person's turn); 5: the token endpoint refused the credentials.
    public var exitStatus: Int32 {
        if authFailure != nil { return 5 }
        if count(.failed) + count(.dead) + count(.conflict) > 0 { return 4 }
        if count(.pending) + count(.processing) + count(.held) > 0 { return 3 }
        return 0
    }
}

/// Waits; tests pass one that advances an injected clock instead of sleeping.
public protocol Sleeper: Sendable {
    func sleep(seconds: TimeInterval) async
}

/// Really waits (`Task.sleep`).
public struct SystemSleeper: Sleeper {
    /// The system's sleeper.
    public init() {}
    /// Sleeps for real.
    public func sleep(seconds: TimeInterval) async {
        try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))
    }
}
