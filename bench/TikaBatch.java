// The reference side of `make bench BENCH_ARGS=documents`: Apache Tika (tika-app's jar) reads
// every file of a list in one warm JVM and writes its XHTML, with the time each file took.
//
//   java -cp tika-app-3.2.2.jar bench/TikaBatch.java LIST OUT_DIR [TIKA_CONFIG] [SECONDS]
//
// LIST has one path a line; file N's XHTML goes to OUT_DIR/N.xhtml and OUT_DIR/results.tsv
// gets "N <tab> ok|failed|timeout <tab> seconds <tab> message". A file gets SECONDS (default 60).
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.tika.config.TikaConfig;
import org.apache.tika.metadata.Metadata;
import org.apache.tika.metadata.TikaCoreProperties;
import org.apache.tika.parser.AutoDetectParser;
import org.apache.tika.parser.ParseContext;
import org.apache.tika.parser.Parser;
import org.apache.tika.sax.ToXMLContentHandler;

public class TikaBatch {
    public static void main(String[] args) throws Exception {
        List<String> files = Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8);
        Path out = Paths.get(args[1]);
        Files.createDirectories(out);
        TikaConfig config = args.length > 2 && !args[2].isEmpty()
            ? new TikaConfig(Paths.get(args[2])) : TikaConfig.getDefaultConfig();
        long seconds = args.length > 3 ? Long.parseLong(args[3]) : 60;
        AutoDetectParser parser = new AutoDetectParser(config);
        StringBuilder results = new StringBuilder();
        ExecutorService executor = Executors.newSingleThreadExecutor();
        for (int index = 0; index < files.size(); index++) {
            Path file = Paths.get(files.get(index));
            ToXMLContentHandler handler = new ToXMLContentHandler();
            long started = System.nanoTime();
            String status = "ok";
            String message = "";
            Future<?> job = executor.submit(() -> {
                Metadata metadata = new Metadata();
                metadata.set(TikaCoreProperties.RESOURCE_NAME_KEY, file.getFileName().toString());
                ParseContext context = new ParseContext();
                context.set(Parser.class, parser);  // parse embedded documents too, like tika-app
                try (InputStream stream = Files.newInputStream(file)) {
                    parser.parse(stream, handler, metadata, context);
                }
                return null;
            });
            try {
                job.get(seconds, TimeUnit.SECONDS);
            } catch (TimeoutException error) {
                job.cancel(true);
                executor.shutdownNow();
                executor = Executors.newSingleThreadExecutor();
                status = "timeout";
            } catch (Exception error) {
                Throwable cause = error.getCause() != null ? error.getCause() : error;
                status = "failed";
                message = (cause.getClass().getSimpleName() + ": " + cause.getMessage())
                    .replaceAll("[\\t\\r\\n]+", " ");
            }
            double elapsed = (System.nanoTime() - started) / 1e9;
            Files.writeString(out.resolve(index + ".xhtml"), handler.toString(), StandardCharsets.UTF_8);
            results.append(index).append('\t').append(status).append('\t')
                .append(String.format("%.4f", elapsed)).append('\t').append(message).append('\n');
        }
        executor.shutdownNow();
        Files.writeString(out.resolve("results.tsv"), results.toString(), StandardCharsets.UTF_8);
        System.exit(0);
    }
}
