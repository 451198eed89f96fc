import CoreMetrics
import Ingest
import Prometheus

/// The server's metrics, on its own Prometheus registry (not the process-wide `MetricsSystem`, so
/// several apps in one test process never share counters). `GET /metrics` prints `registry`.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    let imagesIndexed: CoreMetrics.Counter
    private let indexSize: CoreMetrics.Meter

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2), .seconds(5), .seconds(10),
        ]
        self.factory = factory
        imagesIndexed = CoreMetrics.Counter(label: "clip_images_indexed_total", factory: factory)
        indexSize = CoreMetrics.Meter(label: "clip_index_size", factory: factory)
    }

    /// One finished request: `http_requests_total{route,method,status}` and
    /// `http_request_duration_seconds{route,method}`.
    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        CoreMetrics.Counter(label: "http_requests_total",
                dimensions: [("route", route), ("method", method), ("status", String(status))],
                factory: factory).increment()
        CoreMetrics.Timer(label: "http_request_duration_seconds",
                      dimensions: [("route", route), ("method", method)],
                      factory: factory).recordNanoseconds(duration.nanoseconds)
    }

    /// Time spent in the model: `clip_encode_duration_seconds{kind="text"|"image"}`.
    func recordEncode(kind: String, duration: Duration) {
        CoreMetrics.Timer(label: "clip_encode_duration_seconds", dimensions: [("kind", kind)], factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    /// The `serve --library` folders, labelled by path: `clip_library_files`, `clip_library_pending`,
    /// `clip_library_watching` (1 through inotify, 0 scanning only), `clip_library_indexed_since_start`
    /// and `clip_library_last_scan_timestamp_seconds`.
    func setLibrary(_ folders: [FolderStatus]) {
        for folder in folders {
            let labels = [("folder", folder.path)]
            func gauge(_ name: String, _ value: Double) {
                CoreMetrics.Meter(label: name, dimensions: labels, factory: factory).set(value)
            }
            gauge("clip_library_files", Double(folder.files))
            gauge("clip_library_pending", Double(folder.pending))
            gauge("clip_library_watching", folder.watching ? 1 : 0)
            gauge("clip_library_indexed_since_start", Double(folder.indexedTotal))
            if let lastScan = folder.lastScan { gauge("clip_library_last_scan_timestamp_seconds", lastScan.timeIntervalSince1970) }
        }
    }

    /// Stored images: `clip_index_size`.
    func setIndexSize(_ count: Int) {
        indexSize.set(count)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
    var milliseconds: Double { Double(nanoseconds) / 1e6 }
}
