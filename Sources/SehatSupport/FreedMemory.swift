#if canImport(Glibc)
import Glibc

@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

/// Gives memory the process has freed back to the system where the C library keeps it.
///
/// glibc keeps what a thread frees in that thread's arena, and after a burst of large
/// allocations — a packed bundle of 500 resources built, sent and read back on several
/// threads — a long drain's resident memory sits at several times what is live. Asking
/// glibc to trim after such a unit keeps a field device's sync process near its live memory
/// (measured in `docs/benchmarks.md`, `bench drain`). Elsewhere this does nothing.
///
///     FreedMemory.release()
public enum FreedMemory {
    /// Returns free pages of every arena to the system (`malloc_trim(0)` on glibc).
    public static func release() {
        #if canImport(Glibc)
        _ = glibcMallocTrim(0)
        #endif
    }
}
