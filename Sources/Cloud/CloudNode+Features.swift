internal import AliceDB
internal import HTTPTypes
internal import Hummingbird

extension HTTPField.Name {
    /// The format features of a batch's segments (`FormatFeatures`), comma-separated.
    static let aliceDBFeatures = HTTPField.Name("X-AliceDB-Features")!
}

extension CloudNode {
    /// The batch names format features this node cannot read: 422 `unsupported_features` with
    /// them (in the message and as `features`), before its body is read. The gateway keeps the
    /// segments and sends them again once the node is upgraded; refused one by one instead they
    /// would be refused for good. A batch without the header (an older gateway) is checked segment
    /// by segment as before.
    func checkFeatures(_ request: Request) throws(CloudError) {
        guard let header = request.headers[.aliceDBFeatures] else { return }
        let names = header.split(separator: ",", omittingEmptySubsequences: true).prefix(256).map {
            String($0.trimmingPrefix(" ").prefix(64))
        }
        let refused = config.refusedFeatures
        let unreadable = names.filter { (name: String) -> Bool in
            !FormatFeatures.readable.contains(name) || refused.contains(name)
        }
        guard !unreadable.isEmpty else { return }
        let shown = unreadable.map { (name: String) -> String in
            String(String.UnicodeScalarView(name.unicodeScalars.filter { $0.value > 0x20 && $0.value < 0x7F }))
        }
        var error = CloudError(
            .unprocessableContent,
            "this node cannot read segments with \(shown.joined(separator: ", ")): upgrade it (the gateway keeps them and sends them again)",
            code: "unsupported_features")
        error.features = shown
        throw error
    }
}
