internal import Foundation

/// A throw-away certificate authority made with `openssl`, a server certificate for 127.0.0.1 and
/// a client certificate, all signed by it (for TLS tests against mosquitto and the cloud node).
public struct TestPKI {
    public let ca: String, cert: String, key: String
    public let clientCert: String, clientKey: String

    public init(in dir: String) throws {
        ca = dir + "/ca.crt"
        cert = dir + "/server.crt"
        key = dir + "/server.key"
        clientCert = dir + "/client.crt"
        clientKey = dir + "/client.key"
        let caKey = dir + "/ca.key"
        let csr = dir + "/server.csr"
        let clientCSR = dir + "/client.csr"
        let ext = dir + "/ext.cnf"
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: ext, atomically: true, encoding: .utf8)
        let openssl = Broker.find("openssl")
        for args in [
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", ca, "-days", "2", "-subj",
                "/CN=alicedb test CA",
            ],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
            [
                "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", cert, "-days", "2",
                "-extfile", ext,
            ],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", clientKey, "-out", clientCSR, "-subj", "/CN=gateway"],
            [
                "x509", "-req", "-in", clientCSR, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", clientCert,
                "-days", "2",
            ],
        ] {
            let status = try spawnAndWait([openssl] + args)
            guard status == 0 else { throw HarnessError("openssl \(args[0]) failed (\(status))") }
        }
        // mosquitto started as root reads these as its own user.
        for f in [ca, cert, key, clientCert, clientKey] { chmod(f, 0o644) }
    }
}
