import Foundation
import TOMLConfig
import TestKit
import Testing

/// `ConfigReader`: every mistake names the file, the line and the key, whatever the table.
@Suite struct ConfigReaderTests {
    /// Line numbers matter: the tests below name them.
    static let text = """
        # a gateway
        [mqtt]
        host = "broker.local"
        port = "1883"
        qos = 7
        tls = "yes"
        keepalive = 2.5

        [storage]
        memory_limit = "4MiB"
        disk = "lots"
        listen = "127.0.0.1:9464"
        off = ""
        bad_listen = "nowhere"
        v6 = "[::1]:80"

        [[subscribe]]
        topic = "a/+"

        [[subscribe]]
        topic = "b/+"
        "quoted key" = 1
        """

    static func parsed() throws -> (root: ConfigTable, reader: ConfigReader) {
        try ConfigReader.parse(text, file: "gw.toml")
    }

    /// `body` throws a `ConfigError` whose text is `expected`.
    static func expectError(_ expected: String, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("accepted what should fail with: \(expected)")
        } catch let error as ConfigError {
            #expect(error.description == expected)
        } catch {
            Issue.record("not a ConfigError: \(error)")
        }
    }

    @Test func syntaxErrorsNameFileAndLine() {
        do {
            _ = try ConfigReader.parse("[mqtt]\nhost = \"h\"\nport = = 3\n", file: "gw.toml")
            Issue.record("accepted broken TOML")
        } catch {
            #expect(error.file == "gw.toml")
            #expect(error.line == 3)
            #expect(error.description.hasPrefix("gw.toml:3: TOML syntax:"))
            // The parser's own error is kept as the cause; the source location is ours.
            #expect(error.cause != nil)
            #expect(error.location.hasPrefix("TOMLConfig/ConfigReader.swift:"))
            #expect(error.debugDescription.contains("cause: "))
        }
        do {
            _ = try ConfigReader.parse("[mqtt\nhost = 1", file: "gw.toml")
            Issue.record("accepted an unclosed table header")
        } catch {
            #expect(error.line == 1)
        }
    }

    /// A table header that does not start with a key aborted the process inside toml++ (an
    /// assertion; found by fuzz-agent-config: `[\u{FFFD}…`, then `[=]`, `[.mqtt]`, `[ {]`, `[[ #`).
    @Test func tableHeadersThatDoNotStartWithAKeyAreSyntaxErrors() {
        for (text, line) in [
            ("[=]\n", 1), ("[mqtt]\nhost = \"h\"\n\n[.storage]\n", 4), ("a = 1\n  [ {]\n", 2), ("[[ #x\n", 1),
            ("[\t=]\n", 1), ("[é]\n", 1), ("s = \"\"\"\n[ok\n\"\"\"\n[[=]]\n", 4), ("\u{FEFF}[{1}]\n", 1),
        ] {
            do {
                _ = try ConfigReader.parse(text, file: "gw.toml")
                Issue.record("accepted \(text.debugDescription)")
            } catch {
                #expect(error.line == line, "\(text.debugDescription)")
                #expect(error.description.contains("table header must name"), "\(text.debugDescription)")
            }
        }
        // Brackets that start a line inside a value or a multi-line string are not headers.
        let fine = """
            a = [
              [1, 2],
              [ "x" ],
            ]
            s = \"\"\"
            [=] not a header
            \"\"\"
            l = '''
            [ { neither'''
            ["quoted key"]
            [ 'literal' . b ]
            [[ arr ]]
            """
        #expect(throws: Never.self) { _ = try ConfigReader.parse(fine, file: "gw.toml") }
    }

    @Test func badTypesNameFileLineAndKey() throws {
        let (root, r) = try Self.parsed()
        let mqtt = try #require(try r.table(root, "mqtt", in: ""))
        let storage = try #require(try r.table(root, "storage", in: ""))
        #expect(try r.string(mqtt, "host", "mqtt") == "broker.local")
        #expect(try r.string(mqtt, "nope", "mqtt") == nil)  // absent is not a mistake
        Self.expectError("gw.toml:4: mqtt.port: must be an integer") { _ = try r.int(mqtt, "port", "mqtt", 1...65535) }
        Self.expectError("gw.toml:5: mqtt.qos: must be in 0...2, not 7") { _ = try r.int(mqtt, "qos", "mqtt", 0...2) }
        Self.expectError("gw.toml:5: mqtt.qos: must be a string") { _ = try r.string(mqtt, "qos", "mqtt") }
        Self.expectError("gw.toml:6: mqtt.tls: must be true or false") { _ = try r.bool(mqtt, "tls", "mqtt") }
        Self.expectError("gw.toml:3: mqtt.host: must be a table") { _ = try r.table(mqtt, "host", in: "mqtt") }
        #expect(try r.double(mqtt, "keepalive", "mqtt") == 2.5)
        #expect(try r.double(mqtt, "qos", "mqtt") == 7)  // an integer is a number too
        Self.expectError("gw.toml:3: mqtt.host: must be a number") { _ = try r.double(mqtt, "host", "mqtt") }
        #expect(try r.size(storage, "memory_limit", "storage") == 4 << 20)
        Self.expectError("gw.toml:11: storage.disk: must be a size such as 8MiB, 512KiB or a byte count") {
            _ = try r.size(storage, "disk", "storage")
        }
        let listen = try r.address(storage, "listen", "storage")
        #expect(listen??.host == "127.0.0.1" && listen??.port == 9464)
        let v6 = try r.address(storage, "v6", "storage")
        #expect(v6??.host == "::1" && v6??.port == 80)
        let off = try r.address(storage, "off", "storage")
        #expect(off != nil && off! == nil)  // set to "": switched off
        Self.expectError(
            "gw.toml:14: storage.bad_listen: must be HOST:PORT such as 127.0.0.1:9464, or \"\" for off"
        ) { _ = try r.address(storage, "bad_listen", "storage") }
    }

    @Test func tablesKeysAndHas() throws {
        let (root, r) = try Self.parsed()
        let subscriptions = try #require(try r.tables(root, "subscribe"))
        #expect(subscriptions.count == 2)
        #expect(try r.tables(root, "gateway") == nil)
        #expect(r.keys(subscriptions[1]) == ["quoted key", "topic"])
        #expect(r.has(subscriptions[1], "quoted key") && !r.has(subscriptions[0], "quoted key"))
        #expect(r.keys(root) == ["mqtt", "storage", "subscribe"])
        // A key of the second [[subscribe]], quoted: its own line, not the first table's.
        #expect(r.error("subscribe[1]", "quoted key", "bad").description == "gw.toml:22: subscribe[1].quoted key: bad")
        #expect(r.error("subscribe[1]", "topic", "bad").description == "gw.toml:21: subscribe[1].topic: bad")
        #expect(r.error("subscribe[0]", "topic", "bad").description == "gw.toml:18: subscribe[0].topic: bad")
        // A key that is not there: the line of its table's header.
        #expect(r.error("storage", "path", "is required").description == "gw.toml:9: storage.path: is required")
        // A table used as an array of tables: the line of its header.
        Self.expectError("gw.toml:2: mqtt: must be an array of tables ([[mqtt]])") { _ = try r.tables(root, "mqtt") }
        let (numbers, nr) = try ConfigReader.parse("x = [1, 2]\n", file: "n.toml")
        Self.expectError("n.toml: x[0]: must be a table") { _ = try nr.tables(numbers, "x") }
        let storage = try #require(try r.table(root, "storage", in: ""))
        Self.expectError("gw.toml:11: storage.disk: unknown key (known: bad_listen, listen, memory_limit, off, v6)") {
            try r.allow(storage, table: "storage", keys: ["bad_listen", "listen", "memory_limit", "off", "v6"])
        }
    }

    @Test func byteSizes() {
        #expect(ByteSize.parse("8MiB") == 8 << 20)
        #expect(ByteSize.parse("512 KiB") == 512 << 10)
        #expect(ByteSize.parse("2GB") == 2_000_000_000)
        #expect(ByteSize.parse("1.5k") == 1536)
        #expect(ByteSize.parse("100") == 100)
        // Past Int's range it trapped (`max_body = "99999999999999999999"` stopped the node at start).
        for bad in ["", "0", "-1MiB", "MiB", "5 parsecs", "99999999999999999999", "9999999999GiB"] {
            #expect(ByteSize.parse(bad) == nil, "\(bad)")
        }
        #expect(ByteSize.parse(String(repeating: "9", count: 400)) == nil)
    }

    /// TOML's inf and nan and durations past any use are refused with the key named (they trapped
    /// later, where they became milliseconds or a `Duration`).
    @Test func numbersAndDurationsAreFiniteAndBounded() throws {
        let (root, r) = try ConfigReader.parse(
            "a = inf\nb = nan\nc = 1e300\nd = \"1e300w\"\ne = 2.5\nf = \"7d\"\ng = -inf\n", file: "x.toml")
        Self.expectError("x.toml:1: a: must be a finite number, not inf") { _ = try r.double(root, "a", "") }
        Self.expectError("x.toml:2: b: must be a finite number, not nan") { _ = try r.double(root, "b", "") }
        #expect(try r.double(root, "c", "") == 1e300)
        #expect(try r.double(root, "e", "") == 2.5)
        let message = "must be a duration such as 7d, 12h, 30m, 90s or a number of seconds, at most 100 years"
        for key in ["a", "b", "c", "d", "g"] {
            #expect(throws: ConfigError.self, "\(key)") { _ = try r.duration(root, key, "") }
        }
        Self.expectError("x.toml:4: d: \(message)") { _ = try r.duration(root, "d", "") }
        #expect(try r.duration(root, "e", "") == 2.5)
        #expect(try r.duration(root, "f", "") == 7 * 86_400)
    }

    @Test func readingTheFile() throws {
        let dir = TempDirectory()
        let missing = dir.path + "/none.toml"
        Self.expectError("\(missing): no such file") { _ = try ConfigReader.read(path: missing) }
        Self.expectError("\(dir.path): cannot read: Is a directory") { _ = try ConfigReader.read(path: dir.path) }
        let path = dir.path + "/gw.toml"
        try Self.text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ConfigReader.read(path: path) == Self.text)
    }

    /// A secret inline or from `<key>_file`: trailing line breaks dropped; both, missing or empty: an error at the key.
    @Test func secretsInlineOrFromAFile() throws {
        let dir = TempDirectory()
        try "s3cret-token\r\n".write(toFile: dir.path + "/token", atomically: true, encoding: .utf8)
        try "\n".write(toFile: dir.path + "/empty", atomically: true, encoding: .utf8)
        let text = """
            [a]
            token = "inline-token"
            [b]
            token_file = "\(dir.path)/token"
            [c]
            token = "x"
            token_file = "\(dir.path)/token"
            [d]
            token_file = "\(dir.path)/none"
            [e]
            token_file = "\(dir.path)/empty"
            [f]
            """
        let (root, reader) = try ConfigReader.parse(text, file: "s.toml")
        func table(_ name: String) throws -> ConfigTable { try #require(try reader.table(root, name, in: "")) }
        #expect(try reader.secret(try table("a"), "token", "a") == "inline-token")
        #expect(try reader.secret(try table("b"), "token", "b") == "s3cret-token")
        #expect(try reader.secret(try table("f"), "token", "f") == nil)
        Self.expectError("s.toml:7: c.token_file: give token or token_file, not both") {
            _ = try reader.secret(try table("c"), "token", "c")
        }
        Self.expectError("s.toml:9: d.token_file: \(dir.path)/none: no such file") {
            _ = try reader.secret(try table("d"), "token", "d")
        }
        Self.expectError("s.toml:11: e.token_file: \(dir.path)/empty is empty") {
            _ = try reader.secret(try table("e"), "token", "e")
        }
    }
}
