import Foundation

/// Closed → (N consecutive failures) → open for a while → half-open: one probe → closed on
/// success, open again on failure. A pure state machine over times it is given.
///
///     var breaker = CircuitBreaker(threshold: 5, openFor: 30)
///     if case .refuse(let until) = breaker.admit(now: now) { … }
struct CircuitBreaker: Sendable, Equatable {
    enum State: Sendable, Equatable {
        case closed(failures: Int)
        case open(until: Date)
        /// One probe is out; everything else waits.
        case halfOpen
    }

    enum Admission: Equatable {
        case allow
        /// The probe that decides whether the breaker closes.
        case probe
        case refuse(until: Date)
    }

    let threshold: Int
    let openFor: TimeInterval
    private(set) var state = State.closed(failures: 0)

    init(threshold: Int, openFor: TimeInterval) {
        self.threshold = max(1, threshold)
        self.openFor = openFor
    }

    mutating func admit(now: Date) -> Admission {
        switch state {
        case .closed: return .allow
        case .open(let until):
            guard now >= until else { return .refuse(until: until) }
            state = .halfOpen
            return .probe
        case .halfOpen:
            return .refuse(until: now.addingTimeInterval(1))
        }
    }

    mutating func record(success: Bool, now: Date) {
        switch state {
        case .closed(let failures):
            if success {
                state = .closed(failures: 0)
            } else if failures + 1 >= threshold {
                state = .open(until: now.addingTimeInterval(openFor))
            } else {
                state = .closed(failures: failures + 1)
            }
        case .halfOpen, .open:
            state = success ? .closed(failures: 0) : .open(until: now.addingTimeInterval(openFor))
        }
    }

    /// The state as an app sees it.
    var circuitState: CircuitState {
        switch state {
        case .closed(let failures): return .closed(failures: failures)
        case .open(let until): return .open(until: until)
        case .halfOpen: return .halfOpen
        }
    }
}
