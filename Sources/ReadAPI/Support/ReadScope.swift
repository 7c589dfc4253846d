/// Whose data a request may read, and what its `gateway` parameter means.
public enum ReadScope: Sendable, Hashable {
    /// A cloud node's reader: every gateway; a request names the one it reads (`gateway=`).
    case everyGateway
    /// A cloud node's gateway token: its own data only; `gateway` may be left out, and another
    /// gateway's name is refused (403).
    case ownGateway(String)
    /// An agent: the one gateway it is; `gateway` may be left out, and another name has no data
    /// there (404), as a gateway that never uploaded has none on a node.
    case onlyGateway(String)

    /// Whether a request may see `gateway` in listings (`/v1/gateways`, the Prometheus labels).
    public func permits(_ gateway: String) -> Bool {
        switch self {
        case .everyGateway: true
        case .ownGateway(let name), .onlyGateway(let name): gateway == name
        }
    }

    /// The gateway a query is about, from its `gateway` parameter.
    func gateway(_ p: Parameters) throws(QueryError) -> String {
        switch self {
        case .ownGateway(let own):
            let name = p["gateway"] ?? own
            guard name == own else {
                throw QueryError(.forbidden, "a gateway's token reads only its own data ('\(own)')")
            }
            return name
        case .onlyGateway(let own):
            let name = p["gateway"].flatMap { $0.isEmpty ? nil : $0 } ?? own
            guard name == own else { throw .notFound("no data from gateway '\(name.prefix(64))'") }
            return name
        case .everyGateway:
            let name = try p.required("gateway")
            guard ReadScope.validGatewayName(name) else {
                throw .notFound("no data from gateway '\(name.prefix(64))'")
            }
            return name
        }
    }

    /// Gateway names become directory names on a cloud node: letters, digits, `.`, `_`, `-`, at most 64.
    public static func validGatewayName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name != "." && name != ".."
            && name.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2E || $0 == 0x5F
                    || $0 == 0x2D
            }
    }
}
