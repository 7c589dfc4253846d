/// An engine error: what went wrong, where in the input (file, line, byte offset), why (the
/// underlying error), and where in our source it was raised.
public struct AliceDBError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    /// The kind of failure; a struct so that kinds can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case io, locked, corrupt, notFound, invalidArgument, readOnly, closed, badInput, diskFull, unavailable
        }
        private let value: Value
        public static let io = Code(value: .io)
        public static let locked = Code(value: .locked)
        public static let corrupt = Code(value: .corrupt)
        public static let notFound = Code(value: .notFound)
        public static let invalidArgument = Code(value: .invalidArgument)
        public static let readOnly = Code(value: .readOnly)
        public static let closed = Code(value: .closed)
        public static let badInput = Code(value: .badInput)
        public static let diskFull = Code(value: .diskFull)
        /// A store outside this process (a database server) cannot be reached now; retry later.
        public static let unavailable = Code(value: .unavailable)

        public var description: String { "\(value)" }
    }

    public var code: Code
    public var message: String
    /// The file (or input) the error is about, if any.
    public var path: String?
    /// Line number in a text input, if any.
    public var line: Int?
    /// Byte offset in a binary file, if any.
    public var offset: Int?
    /// The C `errno`, if a system call failed.
    public var errno: Int32?
    /// The error this one stands for (a decode error, a system error, a driver's error), if any.
    public var cause: (any Error)?
    /// Where in this package's source the error was raised.
    public var location: SourceLocation

    /// A place in the source: `fileID` is `Module/File.swift`.
    public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
        public var fileID: String
        public var line: Int

        public init(fileID: String, line: Int) {
            self.fileID = fileID
            self.line = line
        }

        public var description: String { "\(fileID):\(line)" }
    }

    /// - Parameters:
    ///   - path, line, offset: where in the input (file, text line, byte) the problem is.
    ///   - cause: the underlying error.
    ///   - sourceFileID, sourceLine: where it is raised; leave them to their defaults.
    public init(
        _ code: Code, _ message: String, path: String? = nil, line: Int? = nil, offset: Int? = nil,
        errno: Int32? = nil, cause: (any Error)? = nil, sourceFileID: String = #fileID, sourceLine: Int = #line
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.line = line
        self.offset = offset
        self.errno = errno
        self.cause = cause
        self.location = SourceLocation(fileID: sourceFileID, line: sourceLine)
    }

    public var description: String {
        var place = ""
        if let path { place += path }
        if let line { place += ":\(line)" }
        if let offset { place += " (byte \(offset))" }
        return place.isEmpty ? message : "\(place): \(message)"
    }

    /// The description, the code, the cause and the source location: for logs and bug reports.
    public var debugDescription: String {
        var out = "\(description) [\(code) at \(location)"
        if let errno { out += ", errno \(errno)" }
        if let cause { out += ", cause: \(String(reflecting: cause))" }
        return out + "]"
    }
}
