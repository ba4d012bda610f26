import Foundation
import SehatSync

/// Runs async work from a synchronous command and waits for its result.
func waitFor<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    let box = ResultBox<T>()
    Task {
        do { box.set(.success(try await work())) } catch { box.set(.failure(error)) }
        done.signal()
    }
    done.wait()
    return try box.get()
}

/// Holds a result handed from a task to the waiting thread.
private final class ResultBox<T: Sendable>: @unchecked Sendable {
    // Safe: written once by the task before it signals the semaphore, read once after the wait.
    private var result: Result<T, Error>?
    private let lock = NSLock()
    func set(_ value: Result<T, Error>) { lock.withLock { result = value } }
    func get() throws -> T { try lock.withLock { result! }.get() }
}

/// Blocks until SIGINT or SIGTERM arrives (for long-running commands).
func waitForTerminationSignal() -> Int32 {
    let done = DispatchSemaphore(value: 0)
    let received = ResultBox<Int32>()
    var sources: [DispatchSourceSignal] = []
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler {
            received.set(.success(signalNumber))
            done.signal()
        }
        source.resume()
        sources.append(source)
    }
    done.wait()
    sources.forEach { $0.cancel() }
    return (try? received.get()) ?? SIGTERM
}
