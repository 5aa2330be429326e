//! What the state and the app tell the user about files, models, runs and experiments:
//! notices, errors and the reasons a button is disabled. The state keeps them as
//! [`Message`](super::Message)s (a key and its values) and the views put them into words.

use super::string_table;

string_table! {
    /// A notice or an error of the explorer.
    Notice {
        // Models and files.
        Opened => ("Opened {0}", "Aberto: {0}"),
        CouldNotOpen => (
            "Could not open the model, the previous one stays open. {0}",
            "Não foi possível abrir o modelo; o anterior continua aberto. {0}"
        ),
        Saved => ("Saved {0}", "Salvo: {0}"),
        CouldNotWrite => ("Could not write {0}: {1}", "Não foi possível gravar {0}: {1}"),
        NoFileDialog => (
            "No file dialog could open (neither the XDG desktop portal nor zenity is installed). \
Open a model with: residual-explorer gui --model PATH",
            "Nenhuma janela de arquivos pôde abrir (não há nem o portal XDG da área de trabalho \
nem o zenity instalado). Abra um modelo com: residual-explorer gui --model CAMINHO"
        ),
        InterventionsDropped => (
            "Removed the interventions that do not fit this model: {0}",
            "Removidas as intervenções que não cabem neste modelo: {0}"
        ),
        LessonLeftForModel => (
            "Lesson {0}, open when the explorer was last closed, was left so that {1} opens; \
the Lessons panel reopens it",
            "A lição {0}, aberta quando o explorador foi fechado pela última vez, foi deixada \
para que {1} abra; o painel de lições a reabre"
        ),
        NothingToExportRun => (
            "Nothing to export yet: no training run.",
            "Nada para exportar ainda: não há treino."
        ),
        NothingToExportPatching => (
            "Nothing to export yet: run the patching first.",
            "Nada para exportar ainda: rode o patching primeiro."
        ),
        NothingToExportSae => (
            "Nothing to export yet: train or open an SAE first.",
            "Nada para exportar ainda: treine ou abra um SAE primeiro."
        ),
        NothingToExportTrace => (
            "Nothing to export yet: the model has not run.",
            "Nada para exportar ainda: o modelo ainda não rodou."
        ),

        // The prompt and generation.
        EmptyPrompt => (
            "The prompt is empty: type some text to run the model.",
            "O prompt está vazio: digite algum texto para rodar o modelo."
        ),
        NoKnownCharacter => (
            "No character of the prompt is in this model's vocabulary.",
            "Nenhum caractere do prompt está no vocabulário deste modelo."
        ),
        CannotGenerate => ("Cannot generate: {0}", "Não é possível gerar: {0}"),
        NoIdsYet => (
            "type at least one token id first",
            "digite antes pelo menos um id de token"
        ),
        ContextFull => ("the context is full ({0})", "o contexto está cheio ({0})"),
        StillRunning => (
            "the model is still running on the prompt",
            "o modelo ainda está rodando sobre o prompt"
        ),

        // Interventions and patching.
        CannotAddIntervention => (
            "Cannot add the intervention: {0}",
            "Não foi possível adicionar a intervenção: {0}"
        ),
        UnknownCharacters => (
            "a prompt has characters this model does not know",
            "um dos prompts tem caracteres que este modelo não conhece"
        ),
        AnswerNotOneToken => (
            "the answer {0} must be exactly one token of this model (it is {1})",
            "a resposta {0} precisa ser exatamente um token deste modelo (o tokenizador dá {1})"
        ),
        PatchingLengths => (
            "the clean prompt has {0} tokens and the corrupted one {1}; they must be of equal \
length",
            "o prompt limpo tem {0} tokens e o corrompido {1}; os dois precisam ter o mesmo \
tamanho"
        ),
        TokenOutsideVocabulary => (
            "token id {0} is outside the vocabulary (0..{1})",
            "o id de token {0} está fora do vocabulário (0..{1})"
        ),
        SameTokens => (
            "the answer and the wrong token must differ",
            "a resposta e o token errado precisam ser diferentes"
        ),
        NoDifference => (
            "the clean and corrupted prompts give the same logit difference ({0}); choose \
prompts that the model answers differently",
            "os prompts limpo e corrompido dão a mesma diferença de logits ({0}); escolha \
prompts que o modelo responda de modo diferente"
        ),
        WrongNotOneToken => (
            "the wrong token {0} must be exactly one token of this model (it is {1})",
            "o token errado {0} precisa ser exatamente um token deste modelo (o tokenizador dá \
{1})"
        ),

        // Training.
        RunAlreadyGoing => (
            "A run is already going: stop it first.",
            "Já há um treino em andamento: pare-o primeiro."
        ),
        CouldNotStartTraining => (
            "Could not start training: {0}",
            "Não foi possível começar o treino: {0}"
        ),
        Diverged => ("Diverged at step {0}: {1}", "Divergiu no passo {0}: {1}"),

        // Lessons.
        LessonModelNotOpened => (
            "The lesson's model {0} could not be opened.",
            "Não foi possível abrir o modelo da lição, {0}."
        ),
        ModelNotInstalled => (
            "The model {0} is not installed.",
            "O modelo {0} não está instalado."
        ),
    }
}
