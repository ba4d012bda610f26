import Foundation
import SehatFHIR
import SehatJSON

extension BundleImporter {
    /// The bundle's entries once its shape is right; otherwise a `FieldError` naming the entry
    /// index and path, what was found and what was expected. Nothing is stored before this
    /// passes, so a refused bundle leaves the device as it was.
    static func checkShape(_ bundle: JSON) throws -> [JSON] {
        let source = BundleSource(bundle)
        try source.checkHeader()
        var fullUrls: [String: Int] = [:]
        var entries: [JSON] = []
        try source.forEachEntry { index, entry in
            try checkEntry(entry, index: index, fullUrls: &fullUrls)
            entries.append(entry)
        }
        return entries
    }

    /// The bundle's own members: `header` is the bundle without its entry array, `entries`
    /// how many that array holds (nil when there is no array; a non-array `entry` stays in
    /// `header`, to be named).
    static func checkHeader(_ header: JSON, entries: Int?) throws {
        guard let resourceType = header["resourceType"] else { throw FieldError("resourceType", "is required (expected \"Bundle\")") }
        guard resourceType.stringValue == "Bundle" else {
            throw FieldError("resourceType", "must be \"Bundle\", got \(describe(resourceType))")
        }
        let importable = ["transaction", "batch", "collection"]
        guard let typeValue = header["type"] else { throw FieldError("type", "is required (expected transaction, batch or collection)") }
        guard let type = typeValue.stringValue, importable.contains(type) else {
            throw FieldError("type", "a Bundle of type \(describe(typeValue)) cannot be imported (expected transaction, batch or collection)")
        }
        guard let count = entries else {
            guard let entryValue = header["entry"] else { throw FieldError("entry", "is required: the bundle has no entries") }
            throw FieldError("entry", "must be an array of entries, got \(entryValue.kind)")
        }
        guard count > 0 else { throw FieldError("entry", "is empty: the bundle has no entries") }
        guard count <= InputLimits.bundleEntries else {
            throw FieldError("entry", "has \(count) entries; the limit is \(InputLimits.bundleEntries)")
        }
    }

    /// One entry; `fullUrls` remembers each entry's fullUrl, so a second use is named.
    static func checkEntry(_ entry: JSON, index: Int, fullUrls: inout [String: Int]) throws {
        let at = "entry[\(index)]"
        guard case .object = entry else { throw FieldError(at, "must be an object with a resource, got \(entry.kind)") }
        if let method = entry.value(at: "request.method") {
            guard let verb = method.stringValue, ["POST", "PUT"].contains(verb) else {
                throw FieldError("\(at).request.method", "\(describe(method)) cannot be imported (expected POST or PUT)")
            }
        }
        guard let resource = entry["resource"] else { throw FieldError("\(at).resource", "is required (the resource to import)") }
        guard case .object = resource else { throw FieldError("\(at).resource", "must be a FHIR resource (an object), got \(resource.kind)") }
        guard let typeName = resource["resourceType"] else { throw FieldError("\(at).resource.resourceType", "is required") }
        guard let name = typeName.stringValue, ResourceTypes.r4.contains(name) else {
            throw FieldError("\(at).resource.resourceType", "\(describe(typeName)) is not a FHIR R4 resource type")
        }
        guard name != "Bundle" else { throw FieldError("\(at).resource.resourceType", "a Bundle inside a Bundle cannot be imported (import it on its own)") }
        if let urlValue = entry["fullUrl"] {
            guard let url = urlValue.stringValue, !url.isEmpty else {
                throw FieldError("\(at).fullUrl", "must be a URL string, got \(describe(urlValue))")
            }
            if url.lowercased().hasPrefix("urn:uuid:"), !isUUID(url.dropFirst(9)) {
                throw FieldError("\(at).fullUrl", "\(FieldError.quote(url)) is not a UUID URN (expected urn:uuid: and 8-4-4-4-12 hex digits)")
            }
            if let first = fullUrls.updateValue(index, forKey: url) {
                throw FieldError("\(at).fullUrl", "\(FieldError.quote(url)) is also the fullUrl of entry[\(first)] (each entry needs its own)")
            }
        }
        if let path = badReference(in: resource) {
            throw FieldError("\(at).resource.\(path)", "must be a string such as \"Patient/123\" or \"urn:uuid:…\"")
        }
    }

    /// A value as a refusal shows it.
    private static func describe(_ value: JSON) -> String {
        value.stringValue.map(FieldError.quote) ?? value.kind
    }

    /// Whether `text` is 8-4-4-4-12 hexadecimal digits.
    static func isUUID<S: StringProtocol>(_ text: S) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (i, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(i) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte) else { return false }
            }
        }
        return true
    }

    /// The path of the first `reference` member that is neither a string nor a Reference
    /// object (a Consent's `provision.data.reference` is one), walked without recursion.
    static func badReference(in resource: JSON) -> String? {
        var stack: [(JSON, String)] = [(resource, "")]
        while let (value, path) = stack.popLast() {
            switch value {
            case .object(let members):
                for member in members.reversed() {
                    let child = path.isEmpty ? member.key : "\(path).\(member.key)"
                    if member.key == "reference" {
                        switch member.value {
                        case .string: continue
                        case .object: break
                        default: return child
                        }
                    }
                    stack.append((member.value, child))
                }
            case .array(let items):
                for (i, item) in items.enumerated().reversed() { stack.append((item, "\(path)[\(i)]")) }
            default: break
            }
        }
        return nil
    }
}
