/// MQTT topic filters (`+`, `#`) and series-name templates (`{1}`: topic level 1, `{topic}`).
public enum TopicFilter {
    /// Why `filter` is not a valid subscription filter, or nil.
    public static func validate(_ filter: String) -> String? {
        let levels = filter.split(separator: "/", omittingEmptySubsequences: false)
        for (i, l) in levels.enumerated() {
            if l.contains("#") && (l != "#" || i != levels.count - 1) { return "'#' must be a whole last level" }
            if l.contains("+") && l != "+" { return "'+' must be a whole level" }
        }
        return nil
    }

    /// Whether `topic` matches `filter`.
    public static func matches(_ filter: String, _ topic: String) -> Bool {
        let f = filter.split(separator: "/", omittingEmptySubsequences: false)
        let t = topic.split(separator: "/", omittingEmptySubsequences: false)
        var i = 0
        while i < f.count {
            if f[i] == "#" { return true }
            if i >= t.count { return false }
            if f[i] != "+" && f[i] != t[i] { return false }
            i += 1
        }
        return i == t.count
    }

    /// Why `template` cannot be filled from topics of `filter`, or nil.
    static func checkTemplate(_ template: String, filter: String) -> String? {
        let levels = filter.split(separator: "/", omittingEmptySubsequences: false).count
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else { return "unclosed '{' in \"\(template)\"" }
            let name = rest[rest.index(after: open)..<close]
            if name != "topic" {
                guard let n = Int(name), n >= 0 else { return "\"{\(name)}\" is not {topic} or a topic level number" }
                if n >= levels && !filter.hasSuffix("#") {
                    return "{\(n)}: the topic has only levels 0...\(levels - 1)"
                }
            }
            rest = rest[rest.index(after: close)...]
        }
        return template.isEmpty ? "series name is empty" : nil
    }

    /// Fills `{n}` with topic level n (0-based) and `{topic}` with the topic ('/' → '.'); nil if a level is missing.
    public static func expand(_ template: String, topic: String) -> String? {
        guard template.contains("{") else { return template }
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        var out = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out += rest[..<open]
            let name = rest[rest.index(after: open)..<close]
            if name == "topic" {
                out += topic.replacingSlashes()
            } else if let n = Int(name), n >= 0, n < levels.count, !levels[n].isEmpty {
                out += levels[n]
            } else {
                return nil
            }
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }
}

extension String {
    func replacingSlashes() -> String { String(map { $0 == "/" ? "." : $0 }) }
}
