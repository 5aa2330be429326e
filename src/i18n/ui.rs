//! The interface's words: tabs, buttons, menus, labels, headings and notices, grouped by
//! where they are drawn. `{0}`, `{1}`… are values filled in by [`fill`](super::fill).

use super::string_table;

string_table! {
    /// A word or sentence of the interface.
    Msg {
        // Tabs (`ViewKind::title`).
        TabResidual => ("Residual stream", "Fluxo residual"),
        TabAttention => ("Attention", "Atenção"),
        TabContributions => ("Contributions", "Contribuições"),
        TabLogitLens => ("Logit lens", "Lente dos logits"),
        TabModel => ("Model", "Modelo"),
        TabTraining => ("Training", "Treino"),
        TabPatching => ("Patching", "Patching"),

        // The help button.
        HelpName => ("What am I looking at ({0})", "O que estou vendo ({0})"),
        HelpHover => ("What am I looking at?", "O que estou vendo?"),

        // The language switch.
        Language => ("Language", "Idioma"),

        // Top bar.
        MenuFile => ("File", "Arquivo"),
        MenuView => ("View", "Exibir"),
        MenuExport => ("Export", "Exportar"),
        ExportPng => ("View as PNG…", "Visão como PNG…"),
        ExportCsv => ("Numbers as CSV…", "Números como CSV…"),
        ExportJson => ("Numbers as JSON…", "Números como JSON…"),
        TrainedInSession => (
            "trained in this session, step {0}",
            "treinado nesta sessão, passo {0}"
        ),
        EmbeddedModel => ("embedded in the program", "embutido no programa"),
        OpeningPath => ("Opening {0}…", "Abrindo {0}…"),
        RunningModel => ("Running the model…", "Rodando o modelo…"),
        LightTheme => ("Light theme", "Tema claro"),
        DarkTheme => ("Dark theme", "Tema escuro"),
        ZoomInKey => ("Zoom in (Ctrl +)", "Aumentar (Ctrl +)"),
        ZoomOutKey => ("Zoom out (Ctrl −)", "Diminuir (Ctrl −)"),
        NormalSizeKey => ("Normal size (Ctrl 0)", "Tamanho normal (Ctrl 0)"),
        OpenModel => ("Open model…", "Abrir modelo…"),
        OpenHfFolder => ("Open Hugging Face folder…", "Abrir pasta do Hugging Face…"),
        SaveModelAs => ("Save model as…", "Salvar modelo como…"),
        DefaultModel => ("Default model", "Modelo padrão"),
        RecentModels => ("Recent models", "Modelos recentes"),
        NoneYet => ("none yet", "nenhum ainda"),
        ShippedModels => ("Shipped models", "Modelos incluídos"),
        NoModelsFolder => ("no models/ folder found", "pasta models/ não encontrada"),
        Dismiss => ("Dismiss", "Fechar aviso"),

        // Prompt bar.
        Prompt => ("Prompt", "Prompt"),
        TypePrompt => ("Type a prompt", "Digite um prompt"),
        TokenIdsHint => (
            "Token ids separated by spaces, e.g. 3 14 15",
            "Ids de tokens separados por espaços, por exemplo 3 14 15"
        ),
        TokenTooltip => ("token id {0}, text ‘{1}’", "id do token {0}, texto ‘{1}’"),
        TokensCount => ("Tokens ({0})", "Tokens ({0})"),
        ClickToken => (
            "Click a token: every view follows its residual stream",
            "Clique num token: todas as visões seguem o fluxo residual dele"
        ),
        GenerateNext => ("Generate next token", "Gerar o próximo token"),
        GenerateHover => (
            "Run the model and append its choice to the prompt",
            "Rodar o modelo e acrescentar a escolha dele ao prompt"
        ),
        CannotGenerate => ("Cannot generate: {0}", "Não é possível gerar: {0}"),
        Sample => ("Sample", "Sortear"),
        Temperature => ("temperature", "temperatura"),
        TopK => ("top-k", "top-k"),
        TopKZero => ("0 keeps every token", "0 mantém todos os tokens"),
        Greedy => (
            "greedy: always the most likely token",
            "guloso: sempre o token mais provável"
        ),
        PromptCut => (
            "The prompt has {0}: only the first {1} (the model's context, n_ctx) are used.",
            "O prompt tem {0}: só os primeiros {1} (o contexto do modelo, n_ctx) são usados."
        ),
        NotInVocabulary => (
            "{0} not in the vocabulary, left out",
            "{0} fora do vocabulário, que o modelo não vê"
        ),
        AtCharacter => ("at character {0}", "no caractere {0}"),

        // Stage bar.
        Stage => ("Stage", "Estágio"),
        PreviousStage => ("Previous stage", "Estágio anterior"),
        PreviousStageKey => ("Previous stage (←)", "Estágio anterior (←)"),
        NextStage => ("Next stage", "Próximo estágio"),
        NextStageKey => ("Next stage (→)", "Próximo estágio (→)"),

        // Interventions bar.
        Interventions => ("Interventions", "Intervenções"),
        NoInterventions => ("none: the plain forward pass", "nenhuma: a passagem direta pura"),
        RemoveThis => ("Remove this intervention", "Remover esta intervenção"),
        RemoveNamed => ("Remove {0}", "Remover {0}"),
        ZeroNamed => ("Zero {0}", "Zerar {0}"),
        ZeroSelectedHead => (
            "Zero the output of the selected head",
            "Zerar a saída da cabeça selecionada"
        ),
        AddIntervention => ("Add intervention…", "Adicionar intervenção…"),
        RemoveAll => ("Remove all", "Remover todas"),
        EditedHover => (
            "The model's added vectors were edited in the lesson panel",
            "Os vetores somados do modelo foram editados no painel de lições"
        ),
        EditedReread => (
            "{0}; click to read the file again",
            "{0}; clique para ler o arquivo de novo"
        ),
        UndoEdits => ("Undo the edits of the model", "Desfazer as edições do modelo"),
        Edited => ("edited", "editado"),
        OneHead => ("One head's output", "A saída de uma cabeça"),
        EveryHead => ("Every head of a layer", "Todas as cabeças de uma camada"),
        OneMlp => ("An MLP's output", "A saída de um MLP"),
        AttnResidual => (
            "Residual connection around attention",
            "Conexão residual em volta da atenção"
        ),
        MlpResidual => (
            "Residual connection around the MLP",
            "Conexão residual em volta do MLP"
        ),
        Layer => ("Layer", "Camada"),
        Head => ("Head", "Cabeça"),
        Zero => ("Zero", "Zerar"),
        Scale => ("Scale", "Escalar"),
        MeanAblate => ("Mean-ablate", "Trocar pela média"),
        MeanAblateHover => (
            "Replace the output by its mean over the prompt's positions",
            "Substituir a saída pela média dela nas posições do prompt"
        ),
        Factor => ("Factor", "Fator"),
        AddNamed => ("Add: {0}", "Adicionar: {0}"),

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
        ModelChangedRecomputing => (
            "The model changed: recomputing…",
            "O modelo mudou: recalculando…"
        ),

        // Training view.
        WidenWindow => (
            "Widen the window to see the curves.",
            "Alargue a janela para ver as curvas."
        ),
        PressStart => (
            "Press Start to train a fresh model; its curves appear here.",
            "Aperte Começar para treinar um modelo novo; as curvas dele aparecem aqui."
        ),
        StatusIdle => ("no run yet", "nenhum treino ainda"),
        StatusPreparing => (
            "preparing the data and the model…",
            "preparando os dados e o modelo…"
        ),
        StatusRunning => ("running", "treinando"),
        StatusPaused => ("paused", "pausado"),
        StatusFinished => ("finished", "terminado"),
        StatusStopped => ("stopped", "interrompido"),
        StatusFailed => ("failed: {0}", "falhou: {0}"),
        Preset => ("Preset", "Modelo pronto"),
        Data => ("Data", "Dados"),
        TextFile => ("Text file…", "Arquivo de texto…"),
        TextFileHover => ("Train on a UTF-8 text file", "Treinar com um arquivo de texto UTF-8"),
        Steps => ("Steps", "Passos"),
        LearningRate => ("Learning rate", "Taxa de aprendizado"),
        SequencesPerBatch => ("Sequences per batch", "Sequências por lote"),
        TokensPerSequence => ("Tokens per sequence", "Tokens por sequência"),
        Seed => ("Seed", "Semente"),
        CompareResidual => (
            "Train with and without residual connections",
            "Treinar com e sem conexões residuais"
        ),
        CompareResidualHover => (
            "Lemma 2.2: the same stack twice, from the same weights",
            "Lema 2.2: a mesma pilha duas vezes, a partir dos mesmos pesos"
        ),
        Start => ("Start", "Começar"),
        StartHover => ("Train a fresh model as set above", "Treinar um modelo novo como acima"),
        Resume => ("Resume", "Continuar"),
        Pause => ("Pause", "Pausar"),
        Stop => ("Stop", "Parar"),
        StepOfTotal => ("step {0} / {1}", "passo {0} / {1}"),
        TokensPerSecond => ("{0} tokens/s", "{0} tokens/s"),
        TimeLeft => (", {0} left", ", faltam {0}"),
        ValidationLoss => (
            "Validation loss {0} at step {1} (train {2})",
            "Perda de validação {0} no passo {1} (treino {2})"
        ),
        StepOfEachRun => ("step {0} / {1} of each run", "passo {0} / {1} de cada treino"),
        FromTimeline => ("from the timeline", "da linha do tempo"),
        Live => ("live", "ao vivo"),
        ViewsShowStep => ("The views show step {0} ({1}).", "As visões mostram o passo {0} ({1})."),
        SaveCheckpoint => ("Save checkpoint…", "Salvar checkpoint…"),
        SaveCheckpointHover => (
            "Save the weights the views show, in the native format",
            "Salvar os pesos que as visões mostram, no formato nativo"
        ),

        // Headings of the views.
        LayerHead => ("layer {0}, head {1}", "camada {0}, cabeça {1}"),
        TokenStreamAt => ("token {0} ‘{1}’, the stream at {2}", "token {0} ‘{1}’, o fluxo em {2}"),
        TokenAt => ("token {0} ‘{1}’ at {2}", "token {0} ‘{1}’ em {2}"),

        // Residual view.
        ValueOfDimension => ("value of a dimension", "valor de uma dimensão"),
        HoverForValue => ("hover a cell for its exact value", "passe o mouse numa célula para ver o valor exato"),
        NormAtEveryStage => ("Norm at every stage", "Norma em cada estágio"),
        EveryTokenEveryStage => (
            "Every token at every stage (norm, log scale)",
            "Todos os tokens em todos os estágios (norma, escala log)"
        ),
        TenMostLikely => (
            "The ten most likely next tokens (softmax of the logits)",
            "Os dez próximos tokens mais prováveis (softmax dos logits)"
        ),
        TopPredictions => ("Top predictions", "Previsões mais prováveis"),
        TokenAtNorm => ("token {0} ‘{1}’ at {2}: norm {3}", "token {0} ‘{1}’ em {2}: norma {3}"),
        LogNorm => ("log₁₀ of the norm", "log₁₀ da norma"),

        // Timeline bar.
        TimelineHover => (
            "Drag to show a past snapshot of the run in every view",
            "Arraste para ver um instantâneo anterior do treino em todas as visões"
        ),
        LiveButton => ("Live", "Ao vivo"),
        LiveHover => ("Follow the newest weights again", "Voltar a seguir os pesos mais novos"),
        SideBySide => ("Side by side with", "Lado a lado com"),
        SideBySideHover => (
            "Attention and logit lens: this step next to another",
            "Atenção e lente dos logits: este passo ao lado de outro"
        ),
        Timeline => ("Timeline", "Linha do tempo"),
        OtherStep => ("Other step", "Outro passo"),

        // Model view.
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

        // Lesson panel.
        Lessons => ("Lessons", "Lições"),
        NextStep => ("Next →", "Próximo →"),
        BackStep => ("← Back", "← Voltar"),
        AllLessons => ("All lessons", "Todas as lições"),
        NextLesson => ("Next lesson →", "Próxima lição →"),
        TryIt => ("Try it", "Experimente"),
        StepOf => ("Step {0} of {1}", "Passo {0} de {1}"),
        Welcome => (
            "New here? The lessons walk you through the residual stream, one step at a time, \
with models small enough to check by hand.",
            "Primeira vez aqui? As lições percorrem o fluxo residual passo a passo, com modelos \
pequenos o bastante para conferir à mão."
        ),
        StartFirst => ("Start lesson 1", "Começar a lição 1"),
        NotNow => ("Not now", "Agora não"),
        OpeningLessonModel => ("Opening the lesson's model…", "Abrindo o modelo da lição…"),
        Additions => ("What each sublayer adds", "O que cada subcamada soma"),
        ResetAdditions => (
            "Reset to the chapter's values",
            "Restaurar os valores do capítulo"
        ),
        CloseLessons => ("Close the lesson panel", "Fechar o painel de lições"),
        EndOfLesson => ("End of the lesson.", "Fim da lição."),
    }
}
