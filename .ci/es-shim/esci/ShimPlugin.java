package esci;

import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.apache.lucene.analysis.miscellaneous.LengthFilter;
import org.apache.lucene.analysis.ngram.EdgeNGramTokenFilter;
import org.apache.lucene.analysis.ngram.EdgeNGramTokenizer;
import org.apache.lucene.analysis.ngram.NGramTokenFilter;
import org.apache.lucene.analysis.ngram.NGramTokenizer;
import org.apache.lucene.analysis.pattern.PatternTokenizer;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.elasticsearch.Build;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.regex.Regex;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.env.Environment;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.index.IndexVersion;
import org.elasticsearch.index.analysis.AbstractIndexAnalyzerProvider;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.Analysis;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.index.analysis.NormalizingTokenFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.xcontent.XContentBuilder;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Stand-ins for the parts of two Elasticsearch distribution modules that Elastic does not
 * publish to Maven Central and that the project uses:
 *
 * <ul>
 *   <li>analysis-common: the {@code english} analyzer, the {@code pattern} tokenizer and the
 *       {@code lowercase}, {@code snowball}, {@code length} and {@code edge_ngram} token
 *       filters (search/engines/elastic.py's mapping); the
 *       {@code asciifolding} and {@code ngram} token filters and the {@code ngram} and
 *       {@code edge_ngram} tokenizers (the index settings of Wagtail's own Elasticsearch
 *       backend, which the admin search uses: search/admin_backend.py); each built from the
 *       Lucene class analysis-common wraps, with the same defaults;</li>
 *   <li>rest-root: {@code GET /}, which the official clients call to check that they talk to
 *       Elasticsearch and which SEARCH_ENGINE=auto reads.</li>
 * </ul>
 *
 * Anything else a mapping names stays unknown to the node, which rejects it with a 400: add
 * it here the same way, never as an approximation. Options of these components that the
 * project does not use are refused rather than silently ignored.
 */
public class ShimPlugin extends Plugin implements AnalysisPlugin, ActionPlugin {
    private volatile ClusterService clusterService;

    @Override
    public Collection<?> createComponents(PluginServices services) {
        clusterService = services.clusterService();
        return List.of();
    }

    // --- analysis-common -------------------------------------------------------------------

    /** Lucene's EnglishAnalyzer (standard tokenizer, possessives, lowercase, stop words,
     *  Porter stemmer), with the "stopwords" and "stem_exclusion" options. */
    static final class EnglishProvider extends AbstractIndexAnalyzerProvider<EnglishAnalyzer> {
        private final EnglishAnalyzer analyzer;

        EnglishProvider(Environment environment, String name, Settings settings) {
            super(name, settings);
            analyzer = new EnglishAnalyzer(
                Analysis.parseStopWords(environment, settings, EnglishAnalyzer.getDefaultStopSet()),
                Analysis.parseStemExclusion(settings, CharArraySet.EMPTY_SET));
        }

        @Override
        public EnglishAnalyzer get() {
            return analyzer;
        }
    }

    /** Lucene's LowerCaseFilter; the language-specific variants are not provided. */
    static final class LowerCaseFactory extends AbstractTokenFilterFactory
            implements NormalizingTokenFilterFactory {
        LowerCaseFactory(String name, Settings settings) {
            super(name, settings);
            refuse(settings, name, "language");
        }

        @Override
        public TokenStream create(TokenStream stream) {
            return new LowerCaseFilter(stream);
        }
    }

    /** Lucene's EdgeNGramTokenFilter: "min_gram" (default 1), "max_gram" (default 2),
     *  "preserve_original" (default false), as analysis-common reads them. */
    static final class EdgeNGramFactory extends AbstractTokenFilterFactory {
        private final int minGram;
        private final int maxGram;
        private final boolean preserveOriginal;

        EdgeNGramFactory(String name, Settings settings) {
            super(name, settings);
            refuse(settings, name, "side");
            minGram = settings.getAsInt("min_gram", 1);
            maxGram = settings.getAsInt("max_gram", 2);
            preserveOriginal = settings.getAsBoolean("preserve_original", false);
        }

        @Override
        public TokenStream create(TokenStream stream) {
            return new EdgeNGramTokenFilter(stream, minGram, maxGram, preserveOriginal);
        }

        @Override
        public TokenFilterFactory getSynonymFilter() {
            throw new IllegalArgumentException("Token filter [" + name() + "] cannot be used to parse synonyms");
        }
    }

    /** Lucene's SnowballFilter: "language" (default "English"; analysis-common also reads
     *  the older "name"), capitalized, names the Snowball stemmer class. */
    static final class SnowballFactory extends AbstractTokenFilterFactory {
        private final String language;

        SnowballFactory(String name, Settings settings) {
            super(name, settings);
            language = Strings.capitalize(settings.get("language", settings.get("name", "English")));
        }

        @Override
        public TokenStream create(TokenStream stream) {
            return new SnowballFilter(stream, language);
        }
    }

    /** Lucene's LengthFilter: "min" (default 0) and "max" (default Integer.MAX_VALUE), in
     *  UTF-16 code units; the long-gone "enable_position_increments" is refused, as
     *  analysis-common refuses it. */
    static final class LengthFactory extends AbstractTokenFilterFactory {
        private final int min;
        private final int max;

        LengthFactory(String name, Settings settings) {
            super(name, settings);
            refuse(settings, name, "enable_position_increments");
            min = settings.getAsInt("min", 0);
            max = settings.getAsInt("max", Integer.MAX_VALUE);
        }

        @Override
        public TokenStream create(TokenStream stream) {
            return new LengthFilter(stream, min, max);
        }
    }

    /** Lucene's PatternTokenizer: "pattern" (a Java regular expression, default "\W+"),
     *  "flags" (Java's flag names joined by "|") and "group" (default -1: the pattern splits),
     *  compiled as analysis-common compiles them. */
    private static TokenizerFactory patternTokenizer(String name, Settings settings) {
        Pattern pattern = Regex.compile(settings.get("pattern", "\\W+"), settings.get("flags"));
        int group = settings.getAsInt("group", -1);
        return TokenizerFactory.newFactory(name, () -> new PatternTokenizer(pattern, group));
    }

    /** Lucene's ASCIIFoldingFilter: "preserve_original" (default false). */
    static final class AsciiFoldingFactory extends AbstractTokenFilterFactory
            implements NormalizingTokenFilterFactory {
        private final boolean preserveOriginal;

        AsciiFoldingFactory(String name, Settings settings) {
            super(name, settings);
            preserveOriginal = settings.getAsBoolean("preserve_original", false);
        }

        @Override
        public TokenStream create(TokenStream stream) {
            return new ASCIIFoldingFilter(stream, preserveOriginal);
        }
    }

    /** Lucene's NGramTokenFilter: "min_gram" (default 1), "max_gram" (default 2),
     *  "preserve_original" (default false). The index's max_ngram_diff is not checked. */
    static final class NGramFilterFactory extends AbstractTokenFilterFactory {
        private final int minGram;
        private final int maxGram;
        private final boolean preserveOriginal;

        NGramFilterFactory(String name, Settings settings) {
            super(name, settings);
            minGram = settings.getAsInt("min_gram", 1);
            maxGram = settings.getAsInt("max_gram", 2);
            preserveOriginal = settings.getAsBoolean("preserve_original", false);
        }

        @Override
        public TokenStream create(TokenStream stream) {
            return new NGramTokenFilter(stream, minGram, maxGram, preserveOriginal);
        }

        @Override
        public TokenFilterFactory getSynonymFilter() {
            throw new IllegalArgumentException("Token filter [" + name() + "] cannot be used to parse synonyms");
        }
    }

    /** Lucene's NGramTokenizer or EdgeNGramTokenizer: "min_gram" (default 1) and "max_gram"
     *  (default 2); "token_chars" is refused (every character is kept, analysis-common's
     *  default). Like analysis-common, the tokenizers read no "side" option. */
    private static TokenizerFactory ngramTokenizer(String name, Settings settings, boolean edge) {
        refuse(settings, name, "token_chars");
        refuse(settings, name, "custom_token_chars");
        int minGram = settings.getAsInt("min_gram", 1);
        int maxGram = settings.getAsInt("max_gram", 2);
        return TokenizerFactory.newFactory(name, () -> edge
            ? (Tokenizer) new EdgeNGramTokenizer(minGram, maxGram)
            : new NGramTokenizer(minGram, maxGram));
    }

    private static void refuse(Settings settings, String name, String option) {
        if (settings.get(option) != null) {
            throw new IllegalArgumentException(
                "[" + name + "]: option [" + option + "] is not provided by the CI stand-in (.ci/es-shim)");
        }
    }

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends org.apache.lucene.analysis.Analyzer>>> getAnalyzers() {
        return Map.of("english", (index, environment, name, settings) -> new EnglishProvider(environment, name, settings));
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of(
            "lowercase", (index, environment, name, settings) -> new LowerCaseFactory(name, settings),
            "edge_ngram", (index, environment, name, settings) -> new EdgeNGramFactory(name, settings),
            "asciifolding", (index, environment, name, settings) -> new AsciiFoldingFactory(name, settings),
            "ngram", (index, environment, name, settings) -> new NGramFilterFactory(name, settings),
            "snowball", (index, environment, name, settings) -> new SnowballFactory(name, settings),
            "length", (index, environment, name, settings) -> new LengthFactory(name, settings));
    }

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        return Map.of(
            "ngram", (index, environment, name, settings) -> ngramTokenizer(name, settings, false),
            "edge_ngram", (index, environment, name, settings) -> ngramTokenizer(name, settings, true),
            "pattern", (index, environment, name, settings) -> patternTokenizer(name, settings));
    }

    // --- rest-root -------------------------------------------------------------------------

    @Override
    public Collection<RestHandler> getRestHandlers(Settings settings, NamedWriteableRegistry registry,
            RestController controller, ClusterSettings clusterSettings, IndexScopedSettings indexScopedSettings,
            SettingsFilter settingsFilter, IndexNameExpressionResolver resolver, Supplier<DiscoveryNodes> nodes,
            Predicate<NodeFeature> features) {
        String nodeName = settings.get("node.name", "node");
        return List.of(new RootHandler(nodeName));
    }

    /** The root document, with the fields the official clients and SEARCH_ENGINE=auto read. */
    private final class RootHandler extends BaseRestHandler {
        private final String nodeName;

        RootHandler(String nodeName) {
            this.nodeName = nodeName;
        }

        @Override
        public String getName() {
            return "esci_root_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            return channel -> {
                ClusterState state = clusterService.state();
                Build build = Build.current();
                XContentBuilder body = channel.newBuilder();
                body.startObject()
                    .field("name", nodeName)
                    .field("cluster_name", state.getClusterName().value())
                    .field("cluster_uuid", state.metadata().clusterUUID());
                body.startObject("version")
                    .field("number", build.qualifiedVersion())
                    .field("build_flavor", build.flavor())
                    .field("build_type", build.type().displayName())
                    .field("build_hash", build.hash())
                    .field("build_date", build.date())
                    .field("build_snapshot", build.isSnapshot())
                    .field("lucene_version", IndexVersion.current().luceneVersion().toString())
                    .field("minimum_wire_compatibility_version", build.minWireCompatVersion())
                    .field("minimum_index_compatibility_version", build.minIndexCompatVersion())
                    .endObject();
                body.field("tagline", "You Know, for Search").endObject();
                channel.sendResponse(new RestResponse(RestStatus.OK, body));
            };
        }
    }
}
