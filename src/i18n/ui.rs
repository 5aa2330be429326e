//! The words of the window around the views: tabs, the help button, the language switch,
//! the top bar and its menus, the prompt and stage bars, the interventions bar, the lesson
//! panel and the file dialogs, grouped by where they are drawn. `{0}`, `{1}`… are values
//! filled in by [`fill`](super::fill).

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
        TabFeatures => ("Features", "Features"),
        OpenSaeTitle => ("Open an SAE folder (SAELens format)", "Abrir uma pasta de SAE (formato do SAELens)"),
        SaveSaeTitle => ("Save the SAE into a folder", "Salvar o SAE numa pasta"),
        TabCircuits => ("Circuits", "Circuitos"),

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
        ComponentOf => ("{0} component {1}", "{0} componente {1}"),

        // File dialogs.
        OpenModelTitle => (
            "Open a model: a weights file, or a checkpoint's config.json or index",
            "Abrir um modelo: um arquivo de pesos, ou o config.json ou o índice de um checkpoint"
        ),
        ModelFiles => ("Models", "Modelos"),
        OpenFolderTitle => (
            "Open a Hugging Face model folder",
            "Abrir a pasta de um modelo do Hugging Face"
        ),
        SaveModelTitle => ("Save the model", "Salvar o modelo"),
        NativeModel => ("Native model", "Modelo nativo"),
        ExportTitle => ("Export the view", "Exportar a visão"),
        CorpusTitle => ("Choose a text file to train on", "Escolher um arquivo de texto para treinar"),
        TextFiles => ("Text", "Texto"),
    }
}
