//! The words inside the views that read one trace: the headings, the residual stream,
//! attention, contributions, logit lens and patching views, and the widgets' hover texts.
//! `{0}`, `{1}`… are values filled in by [`fill`](super::fill).

use super::string_table;

string_table! {
    /// A word or sentence inside a view.
    ViewText {
        // Headings of the views.
        LayerHead => ("layer {0}, head {1}", "camada {0}, cabeça {1}"),
        TokenStreamAt => ("token {0} ‘{1}’, the stream at {2}", "token {0} ‘{1}’, o fluxo em {2}"),
        TokenAt => ("token {0} ‘{1}’ at {2}", "token {0} ‘{1}’ em {2}"),

        // Widgets.
        Dimension => ("dimension {0} = {1}", "dimensão {0} = {1}"),
        LegendOf => ("{0} legend", "legenda: {0}"),
        MoreBelow => ("… and {0} more below", "… e mais {0} abaixo"),

        // Residual view.
        ValueOfDimension => ("value of a dimension", "valor de uma dimensão"),
        HoverForValue => ("hover a cell for its exact value", "passe o mouse numa célula para ver o valor exato"),
        NormAtEveryStage => ("Norm at every stage", "Norma em cada estágio"),
        EveryTokenEveryStage => (
            "Every token at every stage (norm, log scale)",
            "Todos os tokens em todos os estágios (norma, escala log)"
        ),
        NormOfEveryToken => (
            "Norm of every token at every stage",
            "Norma de cada token em cada estágio"
        ),
        TenMostLikely => (
            "The ten most likely next tokens (softmax of the logits)",
            "Os dez próximos tokens mais prováveis (softmax dos logits)"
        ),
        TopPredictions => ("Top predictions", "Previsões mais prováveis"),
        TokenAtNorm => ("token {0} ‘{1}’ at {2}: norm {3}", "token {0} ‘{1}’ em {2}: norma {3}"),
        LogNorm => ("log₁₀ of the norm", "log₁₀ da norma"),
        TokenEmbedding => ("token embedding", "embedding do token"),
        PositionEmbedding => ("position embedding", "embedding da posição"),
        StreamIntoBlock0 => ("x (stream into block 0)", "x (fluxo que entra no bloco 0)"),
        TokenEmbeddingIntoBlock0 => (
            "x = token embedding (stream into block 0)",
            "x = embedding do token (fluxo que entra no bloco 0)"
        ),
        FinalStream => ("x (final stream)", "x (fluxo final)"),
        VectorNamed => ("Vector {0}", "Vetor {0}"),
        StageNamed => ("stage {0}", "estágio {0}"),
        StreamNorm => ("stream ‖x‖", "fluxo ‖x‖"),
        AttentionOutput => ("attention output", "saída da atenção"),
        MlpOutput => ("MLP output", "saída do MLP"),
        SelectedStage => ("selected stage", "estágio selecionado"),
        StageAxis => ("stage (block ends labelled)", "estágio (fim de cada bloco marcado)"),

        // Attention view.
        AttentionWeight => ("attention weight", "peso da atenção"),
        EveryLayerAndHead => ("Every layer and head", "Todas as camadas e cabeças"),
        ThumbnailName => ("Layer {0} head {1} pattern", "Padrão da camada {0}, cabeça {1}"),
        ThumbnailHover => (
            "Layer {0} head {1}: click to enlarge",
            "Camada {0}, cabeça {1}: clique para ampliar"
        ),
        QueriesByKeys => (
            "Layer {0} head {1}: queries (rows) × keys (columns)",
            "Camada {0}, cabeça {1}: consultas (linhas) × chaves (colunas)"
        ),
        LocalLayer => (
            "Local layer: each token sees only the last {0} tokens (itself included).",
            "Camada local: cada token só vê os últimos {0} tokens (incluindo ele mesmo)."
        ),
        SharesKeyValueHead => (
            "Shares key/value head {0} with heads {1}–{2}: the same keys, its own queries.",
            "Divide a cabeça de chave/valor {0} com as cabeças {1}–{2}: as mesmas chaves, \
consultas próprias."
        ),
        QueryToKey => ("query {0} ‘{1}’ → key {2} ‘{3}’: {4}", "consulta {0} ‘{1}’ → chave {2} ‘{3}’: {4}"),
        MaskedLater => (
            "masked: token {0} cannot look at the later token {1}",
            "mascarada: o token {0} não pode olhar para o token {1}, que vem depois"
        ),
        MaskedOutsideWindow => (
            "masked: token {0} is outside token {1}'s local window of {2}",
            "mascarada: o token {0} está fora da janela local de {2} do token {1}"
        ),
        PatternName => (
            "Attention pattern of layer {0} head {1}",
            "Padrão de atenção da camada {0}, cabeça {1}"
        ),
        WhereTokenLooks => ("Where token {0} ‘{1}’ looks", "Para onde olha o token {0} ‘{1}’"),
        WhereSelectedLooks => ("Where the selected token looks", "Para onde olha o token selecionado"),

        // Contributions view.
        NotTheStream => (
            "The slider is at {0}, which is not the stream itself: showing the stream at {1}, \
the stage before it.",
            "O estágio escolhido, {0}, não é o próprio fluxo: aqui está o fluxo em {1}, o \
estágio anterior a ele."
        ),
        NotASum => (
            "Here the stream is not a plain sum of terms: {0}. {1}",
            "Aqui o fluxo não é uma simples soma de parcelas: {0}. {1}"
        ),
        OneTermPerLayer => (
            "Attention is one term per layer here: {0}.",
            "Aqui a atenção é uma parcela por camada: {0}."
        ),
        AttributeTo => ("Attribute to the logit of", "Atribuir ao logit de"),
        TheTopPrediction => ("the top prediction", "a previsão mais provável"),
        TheActualNext => ("the actual next token ‘{0}’", "o próximo token de fato, ‘{0}’"),
        TokenLogit => ("‘{0}’ logit {1}", "‘{0}’ logit {1}"),
        ModelsTopPrediction => (
            "(the model's top prediction here)",
            "(a previsão mais provável do modelo aqui)"
        ),
        Chosen => ("(chosen)", "(escolhido)"),
        SumOf => ("Σ of {0}", "Σ de {0}"),
        SumOfTheTerms => ("Sum of the terms", "Soma das parcelas"),
        TheStream => ("The stream", "O fluxo"),
        StreamAt => ("stream at {0}", "fluxo em {0}"),
        LargestError => (
            "largest |Σ terms − stream| = {0} (float rounding: the terms are the stream)",
            "maior |Σ parcelas − fluxo| = {0} (arredondamento de ponto flutuante: as parcelas \
são o fluxo)"
        ),
        EveryTermSoFar => (
            "Every term written into the stream so far",
            "Todas as parcelas escritas no fluxo até aqui"
        ),
        TermColumn => ("term", "parcela"),
        Norm => ("norm", "norma"),
        ShareColumn => ("share", "fração"),
        ProjectionColumn => ("projection", "projeção"),
        DlaColumn => ("DLA to ‘{0}’", "DLA para ‘{0}’"),
        StreamRow => ("stream", "fluxo"),
        DlaHeading => (
            "Direct logit attribution to ‘{0}’ (terms of the final stream)",
            "Atribuição direta ao logit de ‘{0}’ (parcelas do fluxo final)"
        ),
        ConstantBiases => ("constant (biases)", "constante (vieses)"),
        SumIsTheLogit => (
            "sum {0} = the logit {1} (error {2})",
            "soma {0} = o logit {1} (erro {2})"
        ),
        DirectLogitAttribution => ("Direct logit attribution", "Atribuição direta ao logit"),

        // Logit lens view.
        LensSubtitle => (
            "{0} × {1} where the stream exists",
            "{0} × {1} em que o fluxo existe"
        ),
        LensProgress => (
            "lens computed for {0} of {1}",
            "lente calculada para {0} de {1}"
        ),
        LensCellPending => (
            "not computed yet: the rows on screen are being computed",
            "ainda não calculada: as linhas na tela estão sendo calculadas"
        ),
        OwnStatistics => ("each stage's own statistics", "estatísticas de cada estágio"),
        FrozenFinalScale => ("final stream's scale (frozen)", "escala do fluxo final (congelada)"),
        ColourBy => ("Colour by", "Colorir por"),
        TopProbability => ("top probability", "maior probabilidade"),
        NextTokenRank => ("rank of the next token", "posição do próximo token"),
        RankN => ("rank {0}", "posição {0}"),
        RankLegend => (
            "rank of the next token (log scale; empty: no next token)",
            "posição do próximo token (escala log; vazia: sem próximo token)"
        ),
        TopProbabilityLegend => (
            "probability of the top prediction",
            "probabilidade da previsão mais provável"
        ),
        LensCellHeading => ("token {0} ‘{1}’, stream at {2}", "token {0} ‘{1}’, fluxo em {2}"),
        NoNextToken => (
            "(the last token: no next token to compare)",
            "(o último token: não há próximo token para comparar)"
        ),
        ActualNextRank => (
            "actual next token ‘{0}’: rank {1}, probability {2}",
            "próximo token de fato, ‘{0}’: posição {1}, probabilidade {2}"
        ),
        LensName => (
            "Logit lens: top prediction at every token and stage",
            "Lente dos logits: previsão mais provável em cada token e estágio"
        ),

        // Patching view.
        PatchingSubtitle => ("resid_pre, clean into corrupted", "resid_pre, limpo no corrompido"),
        CleanPrompt => ("Clean prompt", "Prompt limpo"),
        CorruptedPrompt => ("Corrupted prompt", "Prompt corrompido"),
        AnswerToken => ("Answer token", "Token da resposta"),
        WrongToken => ("Wrong token", "Token errado"),
        ExampleForModel => ("Example for this model", "Exemplo para este modelo"),
        ExampleHover => (
            "Fill in prompts this model's tokenizer can read",
            "Preencher com prompts que o tokenizador deste modelo sabe ler"
        ),
        RunPatching => ("Run patching", "Rodar o patching"),
        PatchingRunning => (
            "Patching every layer and position…",
            "Copiando em cada camada e posição…"
        ),
        LogitDifference => (
            "Logit difference ‘{0}’ − ‘{1}’ at the last position: clean {2}, corrupted {3}.",
            "Diferença de logits ‘{0}’ − ‘{1}’ na última posição: limpo {2}, corrompido {3}."
        ),
        MostRestored => (
            "Most restored: layer {0}, position {1} ({2}).",
            "Mais recuperado: camada {0}, posição {1} ({2})."
        ),
        ShareRestored => (
            "share of the logit difference restored",
            "fração recuperada da diferença de logits"
        ),
        PatchingCellHover => (
            "layer {0}, position {1}: restores {2} (logit difference {3})",
            "camada {0}, posição {1}: recupera {2} (diferença de logits {3})"
        ),
        PatchingHeatmap => ("Patching heatmap", "Mapa de calor do patching"),
        ModelChangedRecomputing => (
            "The model changed: recomputing…",
            "O modelo mudou: recalculando…"
        ),
    }
}
