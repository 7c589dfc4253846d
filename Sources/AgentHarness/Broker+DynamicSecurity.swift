internal import Foundation

/// mosquitto's dynamic-security plugin: access rules a test can change while clients stay connected.
extension Broker {
    /// The plugin's admin client (it alone may send `$CONTROL` commands).
    static let dynamicSecurityAdmin = (username: "admin", password: "dynsec-admin-password")

    /// mosquitto.conf lines that load the dynamic-security plugin with a fresh rule file in `dir`:
    /// anonymous clients may publish and receive everything, and subscribe only if `subscribe`.
    /// - Throws: `HarnessError` when the plugin or `mosquitto_ctrl` is not installed.
    public func dynamicSecurityConfig(subscribe: Bool) throws -> String {
        guard let plugin = Broker.dynamicSecurityPlugin() else {
            throw HarnessError("mosquitto_dynamic_security.so not found (it comes with Debian's mosquitto package)")
        }
        let rules = dir.appendingPathComponent("dynamic-security.json")
        try? FileManager.default.removeItem(at: rules)
        let admin = Broker.dynamicSecurityAdmin
        let status = try spawnAndWait([
            Broker.find("mosquitto_ctrl"), "dynsec", "init", rules.path, admin.username, admin.password,
        ])
        guard status == 0 else { throw HarnessError("mosquitto_ctrl dynsec init failed with status \(status)") }
        // The generated rules hold the admin (with a salted password hash) and its role; only the
        // default access for everyone else changes here.
        guard var json = try JSONSerialization.jsonObject(with: Data(contentsOf: rules)) as? [String: Any] else {
            throw HarnessError("unexpected dynamic-security rules in \(rules.path)")
        }
        json["defaultACLAccess"] = [
            "publishClientSend": true, "publishClientReceive": true, "subscribe": subscribe, "unsubscribe": true,
        ]
        try JSONSerialization.data(withJSONObject: json).write(to: rules)
        // The plugin rewrites the file on every change: mosquitto (its own user) must be able to.
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: rules.path)
        return "plugin \(plugin)\nplugin_opt_config_file \(rules.path)\n"
    }

    /// Changes the dynamic-security default for subscribing, at run time: clients stay connected and
    /// keep the subscriptions they have (or lack). Returns once the broker acknowledged the command.
    ///
    /// Sent as a `$CONTROL/dynamic-security/v1` message rather than with `mosquitto_ctrl
    /// setDefaultACLAccess`, which mosquitto_ctrl 2.0.11 sends without effect.
    public func setDefaultSubscribeAccess(_ allow: Bool) throws {
        let admin = Broker.dynamicSecurityAdmin
        let command =
            #"{"commands":[{"command":"setDefaultACLAccess","acls":[{"acltype":"subscribe","allow":\#(allow)}]}]}"#
        let status = try spawnAndWait([
            Broker.find("mosquitto_pub"), "-h", "127.0.0.1", "-p", "\(port)", "-u", admin.username, "-P",
            admin.password, "-q", "1", "-t", "$CONTROL/dynamic-security/v1", "-m", command,
        ])
        guard status == 0 else { throw HarnessError("the $CONTROL message failed: mosquitto_pub status \(status)") }
    }

    /// Where Debian (and a local build) install the plugin.
    static func dynamicSecurityPlugin() -> String? {
        let name = "mosquitto_dynamic_security.so"
        var dirs = ["/usr/lib", "/usr/local/lib", "/usr/lib/mosquitto"]
        for d in (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib")) ?? []
        where d.hasSuffix("-linux-gnu") {
            dirs.append("/usr/lib/\(d)")
        }
        return dirs.map { "\($0)/\(name)" }.first { FileManager.default.fileExists(atPath: $0) }
    }
}
