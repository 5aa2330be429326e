//! The words of the Circuits view (`views/circuits.rs`). `{0}`, `{1}`… are values filled in
//! by [`fill`](super::fill).

use super::string_table;

string_table! {
    /// A word or sentence of the Circuits view.
    CircuitText {
        Computing => (
            "Computing the circuits from the weights…",
            "Calculando os circuitos a partir dos pesos…"
        ),
        PartsDone => ("{0} of {1} parts computed", "{0} de {1} partes calculadas"),
        FoldedLayerNorm => (
            "ln1 folded into W_Q, W_K, W_V and ln_final into W_U (scaled and centred, as TransformerLens's fold_ln)",
            "ln1 embutida em W_Q, W_K, W_V e ln_final em W_U (escaladas e centradas, como o fold_ln do TransformerLens)"
        ),
        FoldedRmsNorm => (
            "ln1 folded into W_Q, W_K, W_V and ln_final into W_U (RMSNorm: scaled, as TransformerLens's fold_ln)",
            "ln1 embutida em W_Q, W_K, W_V e ln_final em W_U (RMSNorm: escaladas, como o fold_ln do TransformerLens)"
        ),
        FoldedNone => (
            "no norm before attention (post-norm): the heads as they are; ln_final folded into W_U",
            "nenhuma norma antes da atenção (pós-norma): as cabeças como estão; ln_final embutida em W_U"
        ),
        Composition => ("Composition:", "Composição:"),
        KindQ => ("Q (queries)", "Q (consultas)"),
        KindK => ("K (keys)", "K (chaves)"),
        KindV => ("V (values)", "V (valores)"),
        OneLayer => (
            "One layer: no head has an earlier head to read from.",
            "Uma camada só: nenhuma cabeça tem uma anterior de quem ler."
        ),
        ScoreCaption => ("composition score", "nota de composição"),
        Baseline => (
            "Rows write, columns read. The colours start at {0}, what random matrices of these shapes score.",
            "As linhas escrevem, as colunas leem. As cores começam em {0}, a nota de matrizes aleatórias com estas formas."
        ),
        CompositionHover => ("{0} → {1}: {2} (random: {3})", "{0} → {1}: {2} (aleatório: {3})"),
        NotLater => (
            "{1} is not in a later layer than {0}",
            "{1} não está numa camada posterior à de {0}"
        ),
        CompositionName => ("Composition map, {0}", "Mapa de composição, {0}"),
        CopyingHeading => (
            "OV copying score of every head (1 copies the token it attends to, −1 suppresses it)",
            "Nota de cópia do OV de cada cabeça (1 copia o token que recebe atenção, −1 o suprime)"
        ),
        CopyingHover => ("layer {0}, head {1}: copying {2}", "camada {0}, cabeça {1}: cópia {2}"),
        CopyingName => ("Copying scores", "Notas de cópia"),
        HeadHeading => ("Head L{0}H{1}", "Cabeça L{0}H{1}"),
        CopyingOfHead => ("OV copying score: {0}", "nota de cópia do OV: {0}"),
        StrongestFrom => (
            "strongest {0} composition from an earlier head: {1} ({2})",
            "composição {0} mais forte vinda de uma cabeça anterior: {1} ({2})"
        ),
        OvSingularValues => ("Singular values of W_OV", "Valores singulares de W_OV"),
        QkSingularValues => ("Singular values of W_QK", "Valores singulares de W_QK"),
        FirstDistinct => (
            "the first {0} distinct tokens of the prompt",
            "os primeiros {0} tokens distintos do prompt"
        ),
        FullOvHeading => (
            "Full OV circuit over the prompt's tokens: what attending to a row token adds to each column token's logit",
            "Circuito OV completo sobre os tokens do prompt: quanto prestar atenção no token da linha soma ao logit de cada token da coluna"
        ),
        FullQkHeading => (
            "Full QK circuit over the prompt's tokens: how much a query (row) attends to a key (column), positions left out",
            "Circuito QK completo sobre os tokens do prompt: quanto uma consulta (linha) presta atenção numa chave (coluna), sem as posições"
        ),
        FullOvName => ("Full OV circuit of L{0}H{1}", "Circuito OV completo de L{0}H{1}"),
        FullQkName => ("Full QK circuit of L{0}H{1}", "Circuito QK completo de L{0}H{1}"),
        FullOvHover => (
            "attending to {0} adds {2} to the logit of {1}",
            "prestar atenção em {0} soma {2} ao logit de {1}"
        ),
        FullQkHover => ("query {0} → key {1}: {2}", "consulta {0} → chave {1}: {2}"),
        DirectPathHeading => (
            "Direct path after ‘{0}’ (W_E W_U, skipping every block): the top logits",
            "Caminho direto depois de ‘{0}’ (W_E W_U, pulando todos os blocos): os maiores logits"
        ),
        DirectPathName => ("Direct path", "Caminho direto"),
    }
}
