/// Holds the clinic lane back until the emergency lane's first round has been sent, so a
/// panic report's notification is the first request after link-up even though the two lanes
/// have workers of their own. Opens once; waiting after that returns at once.
actor LaneGate {
    private var isOpen = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func open() {
        guard !isOpen else { return }
        isOpen = true
        for continuation in waiting { continuation.resume() }
        waiting = []
    }

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiting.append($0) }
    }
}
