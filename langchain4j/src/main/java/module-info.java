/**
 * LangChain4j models backed by Tandem's in-process {@link dev.tandem.runtime.engine.Engine}:
 * {@link dev.tandem.langchain4j.TandemChatModel}, {@link dev.tandem.langchain4j.TandemStreamingChatModel}
 * and {@link dev.tandem.langchain4j.TandemLanguageModel}. langchain4j-core has no module descriptor:
 * it is the automatic module named after its jar, {@code langchain4j.core}.
 */
module dev.tandem.langchain4j {
    requires transitive dev.tandem.runtime;
    requires transitive langchain4j.core;

    exports dev.tandem.langchain4j;
}
