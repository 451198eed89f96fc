import Foundation

/// A `postgres://` or `postgresql://` URL, libpq style (DESIGN.md 3):
/// `postgresql://[user[:password]@][host][:port][/dbname][?param=value&...]`, every part
/// percent-decoded. A host that starts with "/" (in the authority as `%2F...`, or as
/// `?host=/socket/dir`) is the folder of PostgreSQL's Unix socket, `.s.PGSQL.<port>` inside it.
/// Parameters taken: host, port, user, password, dbname, sslmode (disable, allow, prefer, require;
/// verify-* are refused rather than silently weakened), application_name, connect_timeout.
public struct PostgresURL: Sendable, Equatable {
    public enum TLSMode: String, Sendable { case disable, allow, prefer, require }

    /// A host name or address, or the socket folder (starts with "/").
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    public var connectTimeout: Int?

    public var isUnixSocket: Bool { host.hasPrefix("/") }
    /// The socket file when `isUnixSocket`.
    public var socketPath: String { host + "/.s.PGSQL.\(port)" }

    /// Whether `text` is meant as a PostgreSQL URL (else `--db` is a SQLite path).
    public static func isPostgres(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }

    /// The URL without its password, for messages and logs.
    public var redacted: String {
        let where_ = isUnixSocket ? "?host=\(host)" : ""
        let authority = isUnixSocket ? "" : (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
        return "postgresql://\(user)@\(authority)/\(database)\(where_)"
    }

    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(LibraryStoreError) {
        func bad(_ why: String) -> LibraryStoreError { .invalidArgument("PostgreSQL URL: \(why)") }
        guard let schemeEnd = text.range(of: "://"), Self.isPostgres(text) else {
            throw bad("must start with postgres:// or postgresql://")
        }
        var rest = Substring(text[schemeEnd.upperBound...])
        var query = Substring("")
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var userInfo: Substring?
        if let at = rest.lastIndex(of: "@") {
            userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        func decode(_ part: Substring, _ what: String) throws(LibraryStoreError) -> String {
            guard let value = String(part).removingPercentEncoding else { throw bad("bad percent-encoding in the \(what)") }
            return value
        }
        var user: String?
        if let userInfo {
            if let colon = userInfo.firstIndex(of: ":") {
                user = try decode(userInfo[..<colon], "user name")
                password = try decode(userInfo[userInfo.index(after: colon)...], "password")
            } else {
                user = try decode(userInfo, "user name")
            }
        }
        // host[:port], [v6]:port; a comma means several hosts, which libpq tries in turn: not supported.
        var hostText = rest
        var portText: Substring?
        if hostText.hasPrefix("["), let close = hostText.firstIndex(of: "]") {
            let after = hostText[hostText.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { throw bad("junk after [\(hostText)]") }
            hostText = hostText[hostText.index(after: hostText.startIndex)..<close]
        } else if let colon = hostText.lastIndex(of: ":") {
            portText = hostText[hostText.index(after: colon)...]
            hostText = hostText[..<colon]
        }
        guard !hostText.contains(",") else { throw bad("several hosts are not supported") }
        var host = try decode(hostText, "host")
        var port = try portText.map { (text) throws(LibraryStoreError) -> String in try decode(text, "port") }
        var database = path.isEmpty ? nil : try decode(path, "database name")
        var tls: TLSMode?
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = try decode(parts[0], "parameter name")
            let value = parts.count > 1 ? try decode(parts[1], "value of \(key)") : ""
            switch key {
            case "host": host = value
            case "port": port = value
            case "user": user = value
            case "password": password = value
            case "dbname": database = value
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw bad("sslmode \(value) is not supported (disable, allow, prefer or require)")
                }
                tls = mode
            case "connect_timeout":
                guard let seconds = Int(value), seconds >= 0 else { throw bad("connect_timeout \(value) is not a number of seconds") }
                connectTimeout = seconds
            case "application_name": continue
            default: throw bad("parameter \(key) is not supported")
            }
        }
        if host.isEmpty {
            // libpq's default: the Unix socket in the default folder (Debian's, else /tmp).
            host = environment["PGHOST"] ?? (FileManager.default.fileExists(atPath: "/var/run/postgresql") ? "/var/run/postgresql" : "/tmp")
        }
        let portValue = port ?? environment["PGPORT"] ?? "5432"
        guard let portNumber = Int(portValue), (1...65535).contains(portNumber) else { throw bad("port \(portValue) is not a port number") }
        self.host = host
        self.port = portNumber
        self.user = user ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        if password == nil { password = environment["PGPASSWORD"] }
        self.database = database ?? environment["PGDATABASE"] ?? self.user
        // A socket carries no TLS; over TCP libpq's default is prefer.
        self.tls = host.hasPrefix("/") ? .disable : (tls ?? .prefer)
    }
}
