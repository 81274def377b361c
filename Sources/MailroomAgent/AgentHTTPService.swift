import FlyingFox
import FlyingSocks
import Foundation
import Logging
import ServiceLifecycle

/// The agent's listener (default 127.0.0.1:9321): `/healthz`, `/status` (JSON ``AgentStatus``),
/// `/metrics` (Prometheus text) and `POST /webhook` for push events, which must carry a valid
/// HMAC-SHA256 signature (`X-Hub-Signature-256` or `X-Gitea-Signature`); anything else gets 401
/// and triggers nothing.
public struct AgentHTTPService: Service {
    private let server: HTTPServer
    private let reconciler: Reconciler
    private let signature: WebhookSignature?
    private let onPush: @Sendable () -> Void
    private let logger: Logger
    private let checks: PeriodicChecks?

    public init(
        address: ListenAddress, reconciler: Reconciler, signature: WebhookSignature?, logger: Logger,
        onPush: @escaping @Sendable () -> Void
    ) throws {
        try self.init(
            address: address, reconciler: reconciler, signature: signature, checks: nil, logger: logger, onPush: onPush)
    }

    /// With `checks`, `/status` and `/metrics` include the host checks' last results.
    package init(
        address: ListenAddress, reconciler: Reconciler, signature: WebhookSignature?, checks: PeriodicChecks?,
        logger: Logger, onPush: @escaping @Sendable () -> Void
    ) throws {
        self.checks = checks
        let socket: any SocketAddress
        do {
            socket = try address.socketAddress()
        } catch {
            throw AgentError("listen: '\(address.host)' is not an IPv4 address or an IPv6 address in brackets")
        }
        server = HTTPServer(address: socket, timeout: 15, logger: .disabled)
        self.reconciler = reconciler
        self.signature = signature
        self.onPush = onPush
        self.logger = logger
    }

    /// The bound port (useful with port 0), once listening.
    public func port() async -> UInt16? {
        switch await server.listeningAddress {
        case .ip4(_, let port)?, .ip6(_, let port)?: port
        default: nil
        }
    }

    public func waitUntilListening() async throws {
        try await server.waitUntilListening(timeout: 5)
    }

    public func run() async throws {
        let reconciler = reconciler
        let signature = signature
        let onPush = onPush
        let logger = logger
        let checks = checks
        /// The reconciler's status and metrics, with the checks' results.
        @Sendable func current() async -> (AgentStatus, AgentMetrics) {
            var status = await reconciler.status
            var metrics = await reconciler.metrics
            await checks?.annotate(&status, &metrics)
            return (status, metrics)
        }
        await server.appendRoute("GET /healthz") { _ in
            HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain"], body: Data("ok\n".utf8))
        }
        await server.appendRoute("GET /status") { _ in
            HTTPResponse(
                statusCode: .ok, headers: [.contentType: "application/json"], body: await current().0.encoded())
        }
        await server.appendRoute("GET /metrics") { _ in
            HTTPResponse(
                statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: Data(await current().1.prometheusText.utf8))
        }
        await server.appendRoute("POST /resync") { _ in
            // Harmless to anyone who can reach the listener: a resync applies the spec from git.
            reconciler.request(.control)
            return HTTPResponse(statusCode: .accepted, body: Data("resyncing\n".utf8))
        }
        await server.appendRoute("POST /webhook") { request in
            let body = try await request.bodyData
            let header =
                request.headers[HTTPHeader("X-Hub-Signature-256")] ?? request.headers[HTTPHeader("X-Gitea-Signature")]
            guard let signature, signature.verify(header, body: body) else {
                logger.warning(
                    "Webhook refused: bad or missing signature",
                    metadata: ["http.remote": "\(request.remoteAddress.map { "\($0)" } ?? "-")"])
                return HTTPResponse(statusCode: .unauthorized, body: Data("bad or missing signature\n".utf8))
            }
            logger.info("Webhook accepted; fetching")
            onPush()
            return HTTPResponse(statusCode: .accepted, body: Data("fetching\n".utf8))
        }
        do {
            try await cancelWhenGracefulShutdown { try await server.run() }
        } catch  where Task.isShuttingDownGracefully || Task.isCancelled {
            // Stopped as asked (FlyingFox reports its closed socket as an error).
        }
    }
}
