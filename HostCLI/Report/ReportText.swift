import Foundation
import SehatSync

/// The report's language: Indonesian or English, both complete.
enum ReportLanguage: String, CaseIterable {
    case id, en

    /// From `--lang`, else the environment (`LC_ALL`, `LC_MESSAGES`, `LANG`: `id…` is Indonesian), else English.
    static func choose(_ flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ReportLanguage {
        if let flag {
            guard let language = ReportLanguage(rawValue: flag) else { throw FieldError("lang", "must be id or en, got \"\(flag)\"") }
            return language
        }
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"].lazy.compactMap { environment[$0] }.first { !$0.isEmpty } ?? ""
        return locale.lowercased().hasPrefix("id") ? .id : .en
    }
}

/// Every sentence and label on the report page, in one language.
struct ReportText {
    let language: ReportLanguage

    private func t(_ en: String, _ id: String) -> String { language == .en ? en : id }

    var title: String { t("SehatSync sync report", "Laporan sinkronisasi SehatSync") }
    func subtitle(generated: String, since: String) -> String {
        t("Generated \(generated) from this device's database · charts cover the period since \(since)",
          "Dibuat \(generated) dari basis data perangkat ini · grafik mencakup periode sejak \(since)")
    }
    var nothing: String { t("Nothing in this period.", "Tidak ada data pada periode ini.") }
    var never: String { t("never", "belum pernah") }
    var notYet: String { t("not yet", "belum") }
    var none: String { t("none", "tidak ada") }

    // The headline.
    var glance: String { t("At a glance", "Ringkasan") }
    var waitingToSend: String { t("Waiting to be sent", "Menunggu dikirim") }
    func lane(_ lane: Lane) -> String {
        switch lane {
        case .emergency: return t("Emergency lane", "Jalur darurat")
        case .clinic: return t("Clinic lane", "Jalur klinik")
        }
    }
    var needsAPerson: String { t("Needs a person", "Perlu tindakan petugas") }
    var whatToDo: String { t("What to do", "Yang perlu dilakukan") }
    func stopped(_ status: ItemStatus) -> (name: String, advice: String) {
        switch status {
        case .failed:
            return (t("Refused by the server", "Ditolak server"),
                    t("`sehat outbox why ID` names the field; correct it, then `sehat outbox retry ID`.",
                      "`sehat outbox why ID` menyebut isian yang salah; perbaiki, lalu `sehat outbox retry ID`."))
        case .held:
            return (t("Held (consent, registration, or a refused item before it)", "Ditahan (persetujuan, registrasi, atau item sebelumnya ditolak)"),
                    t("`sehat outbox why ID` names what holds each one.", "`sehat outbox why ID` menyebut penyebab setiap item."))
        case .dead:
            return (t("Given up on (dead letters)", "Dihentikan (dead letter)"),
                    t("`sehat outbox retry ID` revives one once its cause is fixed.", "`sehat outbox retry ID` menghidupkannya lagi setelah penyebabnya diperbaiki."))
        case .conflict:
            return (t("Changed on the server by someone else", "Diubah pihak lain di server"),
                    t("`sehat outbox resolve ID --keep local|server` keeps one version.", "`sehat outbox resolve ID --keep local|server` memilih satu versi."))
        default:
            return (status.rawValue, "")
        }
    }
    var lastSuccess: String { t("Last successful sync", "Sinkronisasi terakhir yang berhasil") }
    func destination(_ target: Target) -> String {
        switch target {
        case .satusehat: return "SATUSEHAT"
        case .emergency: return t("Emergency service (PSC 119)", "Layanan darurat (PSC 119)")
        }
    }
    var openAlerts: String { t("Open alerts", "Peringatan terbuka") }
    /// An alert's kind as stored (`escalation`, `auth`, `pull`), in words.
    func alert(_ kind: String) -> String {
        switch kind {
        case "escalation": return t("An item keeps failing after its retries", "Item terus gagal setelah batas percobaan")
        case "auth": return t("SATUSEHAT refused the device's credentials", "SATUSEHAT menolak kredensial perangkat")
        case "pull": return t("A registry pull rejected more than 20 % of its rows", "Tarikan registri menolak lebih dari 20 % baris")
        default: return kind
        }
    }
    var escalated: String { t("Escalated (still retrying after their retries)", "Dieskalasi (masih dicoba setelah batas percobaan)") }
    var count: String { t("Count", "Jumlah") }
    var total: String { t("Total", "Total") }
    var item: String { t("Item", "Item") }

    // The queue over time.
    var queueTitle: String { t("The queue over time (per hour, UTC)", "Antrean dari waktu ke waktu (per jam, UTC)") }
    var hour: String { t("Hour (UTC)", "Jam (UTC)") }
    var waiting: String { t("Waiting", "Menunggu") }
    var stoppedSeries: String { t("Stopped for a person", "Berhenti, perlu petugas") }
    var delivered: String { t("Delivered", "Terkirim") }

    // Requests.
    var requestsTitle: String { t("Requests per hour by answer (a packed bundle is one request)", "Permintaan per jam menurut jawaban (satu bundle = satu permintaan)") }
    var success: String { t("2xx success", "2xx berhasil") }
    var clientError: String { t("4xx refused", "4xx ditolak") }
    var serverError: String { t("5xx or 429 server", "5xx atau 429 server") }
    var offline: String { t("Offline / no answer", "Luring / tanpa jawaban") }

    // Latency.
    var latencyTitle: String { t("Latency per endpoint", "Latensi per endpoint") }
    var endpoint: String { t("Endpoint", "Endpoint") }
    var requests: String { t("Requests", "Permintaan") }
    var errors: String { t("Errors", "Galat") }
    var errorRate: String { t("Error rate", "Tingkat galat") }
    var latencyTarget: String { t("target 2 s (p95)", "target 2 dtk (p95)") }
    var errorTarget: String { t("target 1 %", "target 1 %") }
    var errorRateTitle: String { t("Error rate per endpoint", "Tingkat galat per endpoint") }

    // Progress.
    var progressTitle: String { t("Progress per resource type: resources sent of recorded", "Kemajuan per jenis resource: terkirim dari tercatat") }
    var type: String { t("Type", "Jenis") }
    var recorded: String { t("Recorded", "Tercatat") }
    var sent: String { t("Sent", "Terkirim") }
    var unsynced: String { t("Not yet sent", "Belum terkirim") }
    var progressNote: String {
        t("A resource counts once, however many changes it queued; it is sent when every change is delivered.",
          "Satu resource dihitung sekali, berapa pun perubahannya; terkirim bila semua perubahannya sudah diterima.")
    }

    // Failures.
    var failuresTitle: String { t("Failures by class and resolution", "Kegagalan menurut kelas dan penyelesaian") }
    var failureClass: String { t("Class", "Kelas") }
    func failure(_ category: FailureClass) -> String {
        switch category {
        case .transient: return t("Passing (timeouts, 429, 503)", "Sementara (timeout, 429, 503)")
        case .auth: return t("Credentials refused", "Kredensial ditolak")
        case .client: return t("Data broke a rule", "Data melanggar aturan")
        case .notFound: return t("Reference not on the server", "Rujukan tidak ada di server")
        case .server: return t("Server error", "Galat server")
        case .duplicate: return t("Duplicate", "Duplikat")
        case .unknown: return t("Unclassified", "Tak terklasifikasi")
        }
    }
    func resolution(_ resolution: ErrorResolution) -> String {
        switch resolution {
        case .pending: return t("Open", "Terbuka")
        case .autoResolved: return t("Resolved on a later attempt", "Selesai pada percobaan berikutnya")
        case .manualResolved: return t("Resolved by a person", "Diselesaikan petugas")
        case .ignored: return t("Ignored", "Diabaikan")
        }
    }

    // Panic reports.
    var panicTitle: String { t("Panic reports: from recording to the emergency service's acknowledgement", "Laporan panik: dari pencatatan sampai diterima layanan darurat") }
    var emergency: String { t("Emergency", "Kejadian") }
    var recordedAt: String { t("Recorded (UTC)", "Dicatat (UTC)") }
    var acknowledgedAt: String { t("Acknowledged (UTC)", "Diterima (UTC)") }
    var seconds: String { t("Seconds", "Detik") }

    // Inbound pulls.
    var pullsTitle: String { t("Inbound registry pulls (KKI, SISDMK)", "Tarikan registri tenaga kesehatan (KKI, SISDMK)") }
    var source: String { t("Source", "Sumber") }
    var started: String { t("Started (UTC)", "Mulai (UTC)") }
    var status: String { t("Status", "Status") }
    var inserted: String { t("Inserted", "Ditambah") }
    var updated: String { t("Updated", "Diperbarui") }
    var unchanged: String { t("Unchanged", "Tetap") }
    var rejected: String { t("Rejected", "Ditolak") }
    var failureRate: String { t("Failure rate", "Tingkat gagal") }
    var pullTarget: String { t("limit 20 %", "batas 20 %") }
    func pullStatus(_ status: String) -> String {
        switch status {
        case "completed": return t("completed", "selesai")
        case "running": return t("running", "berjalan")
        case "stopped": return t("stopped", "berhenti")
        default: return status
        }
    }
}
