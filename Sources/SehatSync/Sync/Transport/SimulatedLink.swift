import Foundation
import SehatFHIR
import SehatJSON

/// The link a tester pretends the device has: up, down, or flaky (losing a share of requests
/// and answers, and slow).
public struct LinkState: Sendable, Equatable {
    /// How the link behaves.
    public enum Mode: String, Sendable, CaseIterable {
        case online, offline, flaky
    }

    /// Online, offline or flaky.
    public var mode: Mode
    /// With `flaky`: the share of requests lost (half before they reach the server, half of
    /// their answers after it has acted).
    public var loss: Double
    /// Added to every request (real time).
    public var latencyMilliseconds: Int

    /// A link state.
    public init(mode: Mode = .online, loss: Double = 0, latencyMilliseconds: Int = 0) {
        (self.mode, self.loss, self.latencyMilliseconds) = (mode, min(max(loss, 0), 1), max(0, latencyMilliseconds))
    }

    /// Online, no loss, no added latency.
    public static let online = LinkState()

    /// For a person.
    public var description: String {
        switch mode {
        case .online, .offline: return mode.rawValue + (latencyMilliseconds > 0 ? ", +\(latencyMilliseconds) ms" : "")
        case .flaky: return "flaky: \(Int((loss * 100).rounded())) % loss, +\(latencyMilliseconds) ms"
        }
    }

    var json: JSON { .obj(["mode": .string(mode.rawValue), "loss": .double(loss), "latency_ms": .int(latencyMilliseconds)]) }

    init(json: JSON) {
        self.init(mode: Mode(rawValue: json["mode"]?.stringValue ?? "") ?? .online, loss: json["loss"]?.doubleValue ?? 0,
                  latencyMilliseconds: json["latency_ms"]?.intValue ?? 0)
    }
}

/// A transport wrapper that plays a `LinkState` in front of the real transport, so network
/// loss can be simulated in app tests and by testers (`sehat net …`) without OS help.
///
///     let link = SimulatedLink(wrapping: URLSessionTransport()) { currentState }
public final class SimulatedLink: HTTPTransport {
    private let base: any HTTPTransport
    private let state: @Sendable () -> LinkState
    private let draw: @Sendable () -> Double

    /// `draw` gives uniform numbers in [0, 1) (inject a fixed sequence for repeatable tests).
    public init(wrapping base: any HTTPTransport, draw: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                state: @escaping @Sendable () -> LinkState) {
        self.base = base
        self.state = state
        self.draw = draw
    }

    /// Sends through the link as it is now.
    public func send(_ call: HTTPCall) async throws -> HTTPAnswer {
        let link = state()
        if link.latencyMilliseconds > 0 { try? await Task.sleep(nanoseconds: UInt64(link.latencyMilliseconds) * 1_000_000) }
        switch link.mode {
        case .online:
            return try await base.send(call)
        case .offline:
            throw TransportFailure(kind: .offline, code: NSURLErrorNotConnectedToInternet, message: "the link is down (simulated)")
        case .flaky:
            let roll = draw()
            if roll < link.loss / 2 {
                throw TransportFailure(kind: .outcomeUnknown, code: NSURLErrorTimedOut, message: "the request was lost (simulated)")
            }
            let answer = try await base.send(call)
            if roll < link.loss {
                throw TransportFailure(kind: .outcomeUnknown, code: NSURLErrorTimedOut, message: "the answer was lost (simulated)")
            }
            return answer
        }
    }
}
