//! The model view's words: the config rows (each a word and the config's own key, which
//! stays as it is), the architecture in words (`model::describe`), the tokenizer's kind, the
//! parameter counts and the shapes.

use super::string_table;

string_table! {
    /// A word or sentence of the model view.
    ModelText {
        Config => ("Config", "Configuração"),
        DModel => ("stream width (d_model)", "largura do fluxo (d_model)"),
        NLayers => ("layers (n_layers)", "camadas (n_layers)"),
        NHeads => ("heads per layer (n_heads)", "cabeças por camada (n_heads)"),
        DHead => ("head width (d_head)", "largura de uma cabeça (d_head)"),
        DMlp => ("MLP width (d_mlp)", "largura do MLP (d_mlp)"),
        NoMlp => ("no MLP", "sem MLP"),
        DVocab => ("vocabulary (d_vocab)", "vocabulário (d_vocab)"),
        NCtx => ("context (n_ctx)", "contexto (n_ctx)"),
        ResidualConnections => ("residual connections", "conexões residuais"),
        On => ("on", "ligadas"),
        Off => ("off", "desligadas"),
        Unembedding => ("unembedding", "matriz de saída"),
        TiedToEmbedding => ("tied to W_E", "o próprio W_E transposto"),
        OwnUnembedding => ("own W_U", "W_U próprio"),
        Tokenizer => ("tokenizer", "tokenizador"),
        ParametersTotal => ("Parameters: {0} in total", "Parâmetros: {0} no total"),
        ParametersPerComponent => ("Parameters per component", "Parâmetros por componente"),
        FromPath => ("from {0}", "de {0}"),
        LensMemory => (
            "Logit lens memory: {0} KB kept for this prompt (each cell's top-10 and the next \
token's rank), and at most {1} MB of logits at a time while it is computed",
            "Memória da lente dos logits: {0} KB guardados para este prompt (as dez primeiras \
previsões de cada célula e a posição do próximo token), e no máximo {1} MB de logits por vez \
durante o cálculo"
        ),
        ShapeAtEveryStage => ("Shape at every stage", "Forma em cada estágio"),
        WidthNeverChanges => (
            "N = {0}, d = d_model = {1}: the width never changes, so blocks stack.",
            "N = {0}, d = d_model = {1}: a largura nunca muda, por isso os blocos se empilham."
        ),

        // The architecture (`model::describe`).
        Family => ("family", "família"),
        WeightsInFile => ("weights in file", "pesos no arquivo"),
        RunInF32 => ("{0} (run in f32)", "{0} (rodado em f32)"),
        Norm => ("norm", "normalização"),
        LayerNormWithoutBias => ("LayerNorm without bias", "LayerNorm sem viés"),
        PreNorm => ("pre-norm (GPT-2)", "pré-norma (GPT-2)"),
        PostNorm => ("post-norm (original transformer)", "pós-norma (o transformer original)"),
        ParallelBlock => (
            "parallel block: attention and MLP read the same stream",
            "bloco paralelo: a atenção e o MLP leem o mesmo fluxo"
        ),
        Sandwich => (
            "sandwich: a norm before and after each sublayer",
            "sanduíche: uma normalização antes e outra depois de cada subcamada"
        ),
        Positions => ("positions", "posições"),
        LearnedPositions => ("learned W_pos, {0} positions", "W_pos aprendido, {0} posições"),
        NoPositions => ("none (only the causal mask)", "nenhuma (só a máscara causal)"),
        RotaryPositions => ("rotary ({0}{1}), θ {2}", "rotativas ({0}{1}), θ {2}"),
        HalfRotation => ("half rotation", "rotação das metades"),
        InterleavedPairs => ("interleaved pairs", "pares intercalados"),
        OnDims => (" on {0} of {1} dims", " em {0} de {1} dimensões"),
        Attention => ("attention", "atenção"),
        MultiQuery => (
            "{0} query heads sharing 1 key/value head (MQA)",
            "{0} cabeças de consulta dividindo 1 cabeça de chave/valor (MQA)"
        ),
        GroupedQuery => (
            "{0} query heads in {1} groups sharing key/value heads (GQA)",
            "{0} cabeças de consulta em {1} grupos que dividem cabeças de chave/valor (GQA)"
        ),
        NoScoreScaling => ("no 1/√d_head scaling", "sem a escala 1/√d_head"),
        ScoresTimes => ("scores × {0}", "pontuações × {0}"),
        LocalWindows => ("local windows {0}", "janelas locais {0}"),
        GeluTanh => ("GELU (tanh approximation)", "GELU (aproximação por tanh)"),
        GeluExact => ("GELU (exact, erf)", "GELU (exata, erf)"),
        Gated => ("gated ({0}): {1}(x·W_gate) ⊙ x·W_in", "com porta ({0}): {1}(x·W_gate) ⊙ x·W_in"),
        EmbeddingScale => ("embedding scale", "escala do embedding"),
        FinalSoftcap => ("final logit softcap", "softcap final dos logits"),

        // Tokenizers (`Tokenizer::kind_in`).
        CharacterTokens => ("character", "caracteres"),
        WordTokens => ("word", "palavras"),
        RawIds => ("raw ids", "ids puros"),
        Gpt2Bpe => ("GPT-2 byte-level BPE", "BPE de bytes do GPT-2"),
        ByteLevelBpe => ("byte-level BPE", "BPE de bytes"),
        BpeByteFallback => ("BPE with byte fallback", "BPE com recurso a bytes"),
        UnigramByteFallback => ("Unigram with byte fallback", "Unigram com recurso a bytes"),
        WordLevel => ("word-level", "por palavras"),
    }
}
