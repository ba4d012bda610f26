import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What a crash prints: one line and nothing else. The Swift runtime's own crash handler
/// prints registers, stack memory and the bytes around each frame, and stack memory holds
/// whatever the program was reading: pieces of a patient's record, a NIK. This replaces it
/// for the fatal signals; the signal is then re-raised, so the exit status (and a core dump,
/// where the system keeps them) still says how the process died. The runtime's one-line
/// `Fatal error: …` message, printed before the trap, names the file and line, not data.
enum CrashGuard {
    static func install() {
        for signal in [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGABRT] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                let message: StaticString = "sehat: internal error: the program stopped (no data is lost: every write is a transaction); please report it\n"
                _ = write(STDERR_FILENO, message.utf8Start, message.utf8CodeUnitCount)
                Glibc.signal(signal, SIG_DFL)
                raise(signal)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0  // the handler restores the default itself before re-raising
            sigaction(signal, &action, nil)
        }
    }
}
