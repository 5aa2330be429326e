//! The words of the Features view (`views/features.rs`). `{0}`, `{1}`… are values filled in
//! by [`fill`](super::fill).

use super::string_table;

string_table! {
    /// A word or sentence of the Features view.
    FeatureText {
        Subtitle => ("{0}: {1} features, {2}", "{0}: {1} features, {2}"),
        TrainHeading => ("Train a sparse autoencoder on Shakespeare", "Treinar um autoencoder esparso sobre Shakespeare"),
        Hook => ("Hook", "Gancho"),
        HookBlock => ("Hook block", "Bloco do gancho"),
        HookActivation => ("Hook activation", "Ativação do gancho"),
        Features => ("features", "features"),
        Tokens => ("tokens", "tokens"),
        Train => ("Train SAE", "Treinar SAE"),
        OpenSae => ("Open SAE…", "Abrir SAE…"),
        SaveSae => ("Save SAE…", "Salvar SAE…"),
        Preparing => ("Collecting the first activations…", "Coletando as primeiras ativações…"),
        LastStep => (
            "step {0}, {1} tokens: MSE {2}, explained variance {3}, L0 {4}, dead {5} %",
            "passo {0}, {1} tokens: EQM {2}, variância explicada {3}, L0 {4}, mortas {5} %"
        ),
        Spliced => (
            "Model loss on held-out text: {0} clean, {1} with the stream replaced by the SAE's reconstruction",
            "Perda do modelo em texto separado: {0} limpo, {1} com o fluxo trocado pela reconstrução do SAE"
        ),
        ExplainedVariance => ("explained variance", "variância explicada"),
        L0OverK => ("L0 / k", "L0 / k"),
        Dead => ("dead fraction", "fração de mortas"),
        ReluL1 => ("ReLU, L1", "ReLU, L1"),
        LossIncrease => (
            "model loss increase when spliced (nats)",
            "aumento da perda do modelo com o SAE (nats)"
        ),
        AtToken => ("Token {0} ‘{1}’ at {2}", "Token {0} ‘{1}’ em {2}"),
        Decomposition => (
            "stream (norm {0}) = reconstruction (norm {1}) + error (norm {2})",
            "fluxo (norma {0}) = reconstrução (norma {1}) + erro (norma {2})"
        ),
        Active => ("{0} features active here (click one):", "{0} features ativas aqui (clique numa):"),
        ActiveName => ("Active features", "Features ativas"),
        DoesNotFit => (
            "The open SAE does not fit the model on screen: {0}",
            "O SAE aberto não serve para o modelo na tela: {0}"
        ),
        NoSae => (
            "No SAE yet: train one with the form on the left, or open a SAELens folder. Its features appear here.",
            "Nenhum SAE ainda: treine um com o formulário à esquerda ou abra uma pasta do SAELens. As features dele aparecem aqui."
        ),
        ContextsAfterRun => (
            "Its top contexts are read from the corpus when the run ends.",
            "Os contextos principais são lidos do corpus quando o treino termina."
        ),
        PickFeature => (
            "Click a feature active at the selected token to see where it fires and what it does.",
            "Clique numa feature ativa no token selecionado para ver onde ela dispara e o que faz."
        ),
        Label => ("Label", "Rótulo"),
        SetLabel => ("Set", "Definir"),
        Ablate => ("Ablate", "Remover"),
        Steer => ("Steer:", "Empurrar:"),
        Reconstruct => ("Replace the stream by the reconstruction", "Trocar o fluxo pela reconstrução"),
        Promotes => ("Promotes", "Promove"),
        Suppresses => ("Suppresses", "Suprime"),
        ReadingCorpus => (
            "Reading the held-out text for this SAE's top contexts…",
            "Lendo o texto separado para os contextos principais deste SAE…"
        ),
        Fired => (
            "Fired on {0} of {1} tokens ({2} %); histogram of its activations:",
            "Disparou em {0} de {1} tokens ({2} %); histograma das ativações:"
        ),
        HistogramHover => (
            "How many tokens had each activation, from 0 to the largest",
            "Quantos tokens tiveram cada ativação, de 0 até a maior"
        ),
        TopContexts => ("Where it fires hardest", "Onde ela dispara mais forte"),
    }
}
