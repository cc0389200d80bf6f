package esci;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Starts one Elasticsearch node through the server's public {@link Node} API, the way the
 * official distribution's bootstrap does once its checks are done.
 *
 * <pre>java --module-path HOME/lib --add-modules ALL-MODULE-PATH -cp launcher.jar \
 *     esci.Main HOME RUN HTTP_PORT TRANSPORT_PORT</pre>
 *
 * HOME holds lib/ (the server jars, on the module path) and modules/ (plugin bundles: the
 * real transport-netty4 and our esci-shim). RUN receives data, logs and config and is the
 * node's private scratch space. The node stops cleanly on SIGTERM.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: esci.Main HOME RUN HTTP_PORT TRANSPORT_PORT");
            System.exit(2);
        }
        long started = System.nanoTime();
        Path home = Path.of(args[0]).toAbsolutePath();
        Path run = Path.of(args[1]).toAbsolutePath();
        Path config = Files.createDirectories(run.resolve("config"));
        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", run.resolve("data").toString())
            .put("path.logs", run.resolve("logs").toString())
            .put("cluster.name", "ci-search")
            .put("node.name", "ci-elasticsearch")
            .put("network.host", "127.0.0.1")
            .put("http.port", args[2])
            .put("transport.port", args[3])
            .put("discovery.type", "single-node")
            // CI disks are often nearly full; a test node must not go read-only over it.
            // Everything else keeps Elasticsearch's defaults, as a production node has them.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
        LogConfigurator.configureESLogging();
        LogConfigurator.configureWithoutConfig(settings);
        Environment environment =
            InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), config, () -> "ci-elasticsearch");
        PluginsLoader plugins = PluginsLoader.createPluginsLoader(
            PluginsLoader.loadModulesBundles(environment.modulesDir()),
            PluginsLoader.loadPluginsBundles(environment.pluginsDir()),
            Map.of());
        Node node = new Node(environment, plugins);
        node.start();
        long millis = (System.nanoTime() - started) / 1_000_000;
        System.out.println("esci: node started in " + millis + " ms on http://127.0.0.1:" + args[2]);

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception error) {
                error.printStackTrace();
            }
            stopped.countDown();
        }));
        stopped.await();
    }
}
