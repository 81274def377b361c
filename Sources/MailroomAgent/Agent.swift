import Foundation
import Logging
import MailroomApply
import MailroomHost
import MailroomSource
import MailroomSpec
import MailroomSupport
import ServiceLifecycle
import UnixSignals

/// `mailroom agent`: the long-running process on each host. Wires the existing stages to
/// triggers and runs them in one `ServiceGroup`, in dependency order:
///
/// 1. ``AgentTriggers`` — git (inotify on a local origin's refs, polling with jitter and
///    backoff), inotify on override and generated-file directories (debounced), podman events
///    (self-heal), the periodic resync and SIGHUP, the systemd watchdog;
/// 2. ``Reconciler`` — one rollout at a time through ``Applier``;
/// 3. ``AgentHTTPService`` — webhook, `/status`, `/metrics`, `/healthz`.
///
/// SIGTERM shuts down in reverse: the listener stops, the reconciler finishes its rollout and
/// journal, the triggers stop; then `run()` returns.
public struct Agent: Sendable {
    public let configuration: AgentConfiguration
    public let reconciler: Reconciler
    public let http: AgentHTTPService
    /// The host checks, when the CLI passed them and `check_interval` is not off.
    package let checks: PeriodicChecks?
    let triggers: AgentTriggers
    let logger: Logger

    /// - Parameters:
    ///   - engine: podman; `podmanExecutable` is followed for events.
    ///   - profile: the application profile specs are compiled with (the CLI passes Mailu's).
    ///   - serviceManager: the service manager for units, or nil to run containers directly.
    ///   - notify: from ``SystemdNotify/takeFromEnvironment()``, before any child is started.
    ///   - checks: the host checks to run every `check_interval` (the CLI passes `mailroom doctor`'s).
    package init(
        configuration: AgentConfiguration, engine: any ContainerEngine, profile: any Profile, podmanExecutable: String?,
        serviceManager: (any ServiceManager)? = nil, logger: Logger,
        notify: SystemdNotify, checks: PeriodicChecks.Checks? = nil
    ) throws {
        self.configuration = configuration
        self.logger = logger
        try FileManager.default.createDirectory(atPath: configuration.stateDirectory, withIntermediateDirectories: true)
        let source = GitSource(
            try SourceConfiguration(
                repository: configuration.repository, branch: configuration.branch,
                path: configuration.path, stateDirectory: configuration.stateDirectory))
        let watcher = SourceWatcher(
            source: source,
            schedule: try PollSchedule(
                interval: configuration.pollInterval,
                maxBackoff: max(.seconds(15 * 60), configuration.pollInterval)))
        var options = ApplyOptions(healthTimeout: configuration.healthTimeout)
        options.settleTime = configuration.settleTime
        options.dryRun = configuration.dryRun
        let applier = Applier(
            host: configuration.host, engine: engine, profile: profile, serviceManager: serviceManager, options: options
        )
        reconciler = Reconciler(configuration: configuration, source: source, applier: applier, logger: logger)
        let signature = try configuration.webhookSecretFile.map { try WebhookSignature(secretFile: $0) }
        if signature == nil { logger.warning("No webhook_secret_file: /webhook refuses every request") }
        if let interval = configuration.checkInterval, let checks {
            self.checks = PeriodicChecks(interval: interval, logger: logger, checks: checks)
        } else {
            self.checks = nil
        }
        http = try AgentHTTPService(
            address: ListenAddress(host: configuration.listenHost, port: configuration.listenPort),
            reconciler: reconciler,
            signature: signature, checks: self.checks, logger: logger, onPush: { watcher.trigger() })
        triggers = AgentTriggers(
            configuration: configuration, watcher: watcher, reconciler: reconciler,
            podmanExecutable: podmanExecutable, notify: notify, logger: logger)
    }

    /// Runs until SIGTERM/SIGINT (or, in tests, until the task is cancelled).
    public func run() async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: [triggers, reconciler] + (checks.map { [$0 as any Service] } ?? []) + [http],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("Agent stopped")
    }
}

/// Every trigger, in one service: each one only calls ``Reconciler/request(_:)`` (or makes the
/// ``SourceWatcher`` fetch); the reconciler merges them.
struct AgentTriggers: Service {
    let configuration: AgentConfiguration
    let watcher: SourceWatcher
    let reconciler: Reconciler
    let podmanExecutable: String?
    let notify: SystemdNotify
    let logger: Logger

    func run() async throws {
        let reconciler = reconciler
        let configuration = configuration
        let logger = logger
        let notify = notify
        // Container names the current spec manages, for the podman event filter.
        let managed = LockedValue(Set<String>())
        let files = LockedValue<DirectoryWatch?>(nil)
        await reconciler.setHooks(
            onFirstReconcile: {
                logger.info("First reconcile done; ready")
                notify.send("READY=1")
            },
            onDesiredChange: { desired in
                managed.withLock { $0 = Set(desired.containers.map(\.name)) }
                // Override directories (recursive) and single files: content inputs that are
                // files, and the generated files, which are restored when edited by hand.
                var directories = configuration.overrideDirectories
                var watchedFiles = desired.files.map(\.path)
                for input in desired.containers.flatMap(\.contentInputs) {
                    var isDirectory: ObjCBool = false
                    let exists = FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory)
                    if exists && isDirectory.boolValue { directories.append(input) } else { watchedFiles.append(input) }
                }
                let watch = try? DirectoryWatch(
                    directories: directories, files: watchedFiles, excluding: [configuration.stateDirectory],
                    debounce: configuration.debounce
                ) { paths in
                    // The agent's own writes come back through this watch: only others' wake it.
                    let outside = reconciler.outsideFileChanges(paths)
                    guard !outside.isEmpty else {
                        logger.debug("Own writes seen", metadata: ["files.count": "\(paths.count)"])
                        return
                    }
                    logger.info(
                        "Files changed",
                        metadata: [
                            "files.paths": "\(outside.prefix(5).joined(separator: ","))",
                            "files.count": "\(outside.count)",
                        ])
                    reconciler.request(.files)
                }
                files.withLock { old in
                    old?.stop()
                    old = watch
                }
                logger.debug(
                    "Watching files", metadata: ["files.roots": "\(watch?.roots.joined(separator: ",") ?? "")"])
            })
        let events = try podmanExecutable.map { podman in
            try PodmanEvents(podman: podman) { event in
                guard managed.current.contains(event.name) else { return }
                // Logged by the reconciler, which tells a rollout's own changes from others'.
                reconciler.containerChanged(event)
            }
        }
        defer {
            events?.stop()
            files.withLock { $0?.stop() }
        }

        // Graceful shutdown cancels the triggers; that is their normal end.
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    await self.watcher.run(logger: logger) { update in await reconciler.sourceUpdated(update) }
                }
                group.addTask {
                    while (try? await Task.sleep(for: configuration.resyncInterval)) != nil {
                        reconciler.request(.resync)
                    }
                }
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) {
                        logger.info("SIGHUP: full resync")
                        reconciler.request(.resync)
                    }
                }
                if let interval = notify.watchdogInterval {
                    group.addTask {
                        while (try? await Task.sleep(for: interval)) != nil { notify.send("WATCHDOG=1") }
                    }
                }
            }
        }
    }
}
