//! The training view's words: the form, the controls, the presets' and data's descriptions,
//! the plots (axes, legends, hover), and the timeline bar under every view (with the line
//! about a run going on in the background). Preset and task names are the names typed in
//! lessons and on the command line, and stay as they are.

use super::string_table;

string_table! {
    /// A word or sentence of the training view and the timeline bar.
    TrainText {
        // The form.
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
        Shakespeare => ("Shakespeare (shipped corpus)", "Shakespeare (corpus incluído)"),
        TaskNamed => ("Task: {0}", "Tarefa: {0}"),
        FileNamed => ("File: {0}", "Arquivo: {0}"),
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

        // The presets (`train::PRESETS`).
        PresetLesson => (
            "4 layers, 4 heads of 32, d_model 128, d_mlp 512, n_ctx 128, pre-LN, gelu_new, tied",
            "4 camadas, 4 cabeças de 32, d_model 128, d_mlp 512, n_ctx 128, pre-LN, gelu_new, \
W_U é o W_E transposto"
        ),
        PresetInduction => (
            "2 attention-only layers, 4 heads of 16, d_model 64, n_ctx 64, untied",
            "2 camadas só de atenção, 4 cabeças de 16, d_model 64, n_ctx 64, W_U próprio"
        ),
        PresetSeedBlock => (
            "the textbook's block: 1 layer, d_model 512, 8 heads of 64, d_mlp 2048, ReLU, post-LN",
            "o bloco do livro: 1 camada, d_model 512, 8 cabeças de 64, d_mlp 2048, ReLU, post-LN"
        ),
        PresetDeep => (
            "12 narrow layers (d_model 64, 4 heads of 16, d_mlp 256), residual connections on",
            "12 camadas estreitas (d_model 64, 4 cabeças de 16, d_mlp 256), conexões residuais \
ligadas"
        ),
        PresetDeepNoResidual => (
            "the `deep` stack with residual connections off (Lemma 2.2's experiment)",
            "a pilha `deep` com as conexões residuais desligadas (o experimento do Lema 2.2)"
        ),
        PresetWord => (
            "word-level: 2 layers, 4 heads of 16, d_model 64, d_mlp 256, n_ctx 32, untied with b_U",
            "por palavras: 2 camadas, 4 cabeças de 16, d_model 64, d_mlp 256, n_ctx 32, W_U \
próprio com b_U"
        ),

        // The controls.
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

        // The plots.
        StepAxis => ("step", "passo"),
        StepN => ("step {0}", "passo {0}"),
        LossHeading => ("Loss (nats per token)", "Perda (nats por token)"),
        LossAxis => ("loss", "perda"),
        Train => ("train", "treino"),
        Validation => ("validation", "validação"),
        ShownStep => ("shown step", "passo mostrado"),
        GradientHeading => (
            "Gradient norm per layer (log scale; blue: first layer, orange: last)",
            "Norma do gradiente por camada (escala log; azul: primeira camada, laranja: última)"
        ),
        GradientAxis => ("‖gradient‖", "‖gradiente‖"),
        EveryLayer => ("{0}{1}, every layer", "{0}{1}, todas as camadas"),
        HeadScores => ("Head scores over training", "Pontuações das cabeças ao longo do treino"),
        PreviousToken => ("previous-token", "token anterior"),
        DuplicateToken => ("duplicate-token", "token duplicado"),
        Induction => ("induction", "indução"),
        CopyingScore => ("OV copying (weights)", "cópia no OV (pesos)"),
        KCompositionScore => ("K-composition (weights)", "composição K (pesos)"),
        ScoresAppear => (
            "Scores appear once the first snapshots are scored.",
            "As pontuações aparecem quando os primeiros instantâneos forem avaliados."
        ),
        HighestScore => (
            "Highest {0} score now: {1} {2}",
            "Maior pontuação de {0} agora: {1} {2}"
        ),
        ColourPerHead => (
            "A colour per head; dashes tell the layers apart (the last layer solid).",
            "Uma cor por cabeça; os tracejados distinguem as camadas (a última camada em linha \
cheia)."
        ),
        ScoreAxis => ("{0} score", "pontuação de {0}"),
        ComparisonLoss => (
            "Loss with and without residual connections (nats per token)",
            "Perda com e sem conexões residuais (nats por token)"
        ),
        WithResidual => ("with residual connections", "com conexões residuais"),
        WithoutResidual => ("without residual connections", "sem conexões residuais"),
        ComparisonGradient => (
            "Attention gradient norm per layer (log scale; blue: first layer, orange: last), \
solid with residual connections, dashed without",
            "Norma do gradiente da atenção por camada (escala log; azul: primeira camada, \
laranja: última), linha cheia com conexões residuais, tracejada sem"
        ),
        WithResiduals => ("with residuals: ", "com residuais: "),
        WithoutResiduals => ("without residuals: ", "sem residuais: "),

        // The timeline bar.
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
        TheOpenModel => ("the open model", "o modelo aberto"),
        PausedInBackground => ("is paused in the background", "está pausado em segundo plano"),
        GoesOnInBackground => ("goes on in the background", "continua em segundo plano"),
        EndedInBackground => ("ended in the background", "terminou em segundo plano"),
        ComparisonInBackground => (
            "The residual comparison {0} (step {1} / {2} of each run).",
            "O experimento com e sem residuais {0} (passo {1} / {2} de cada treino)."
        ),
        RunInBackground => (
            "Training “{0}” {1} (step {2} / {3}); the views show another model.",
            "O treino “{0}” {1} (passo {2} / {3}); as visões mostram outro modelo."
        ),
        TrainingTab => ("Training tab", "Aba Treino"),
        StopTheRun => ("Stop the run", "Parar o treino"),
        ShowTheRun => ("Show the run", "Mostrar o treino"),
        ShowTheRunHover => (
            "Show the run's newest weights in every view",
            "Mostrar os pesos mais novos do treino em todas as visões"
        ),
        CloseTheRun => ("Close the run", "Fechar o treino"),
        CloseTheRunHover => (
            "Forget its curves and snapshots",
            "Esquecer as curvas e os instantâneos dele"
        ),
    }
}
