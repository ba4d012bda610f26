import Foundation
import SehatSupport
import SehatSync

/// Blocks until SIGINT or SIGTERM arrives (for long-running commands).
func waitForTerminationSignal() -> Int32 {
    let done = DispatchSemaphore(value: 0)
    let received = Locked<Int32>(SIGTERM)
    var sources: [DispatchSourceSignal] = []
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler {
            received.withLock { $0 = signalNumber }
            done.signal()
        }
        source.resume()
        sources.append(source)
    }
    done.wait()
    sources.forEach { $0.cancel() }
    return received.withLock { $0 }
}
