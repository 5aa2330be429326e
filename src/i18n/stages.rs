//! The stage slider's sentences (`state::stage_words` puts them together): what the vector
//! at a stage is, for a student. `{0}` is the block where there is one.

use super::string_table;

string_table! {
    /// A piece of a stage's description.
    StageText {
        Attention => ("attention", "a atenção"),
        LocalWindow => ("local, the last {0} tokens", "local, os últimos {0} tokens"),
        Rotary => ("rotary", "rotativa"),
        GroupedHeads => (
            "{0} query heads sharing {1} key/value heads",
            "{0} cabeças de consulta dividindo {1} cabeças de chave/valor"
        ),
        Mlp => ("the MLP", "o MLP"),
        GatedMlp => ("the gated MLP", "o MLP com porta"),
        RmsNormScaled => ("RMSNorm with scale 1+w", "RMSNorm com escala 1+w"),
        NoResidual => ("0 (no residual connection)", "0 (sem conexão residual)"),
        EmbedLearned => (
            "Token embedding + position embedding: the stream entering block 0",
            "Embedding do token + embedding da posição: o fluxo que entra no bloco 0"
        ),
        EmbedRotary => (
            "Token embedding{0}: the stream entering block 0 (positions enter later, by \
rotating each head's queries and keys)",
            "Embedding do token{0}: o fluxo que entra no bloco 0 (as posições entram depois, \
girando as consultas e as chaves de cada cabeça)"
        ),
        EmbedNoPositions => (
            "Token embedding{0}: the stream entering block 0 (this model has no positions)",
            "Embedding do token{0}: o fluxo que entra no bloco 0 (este modelo não usa posições)"
        ),
        Ln1Post => (
            "Block {0}: {1} 1 applied to the sum, the stream after attention",
            "Bloco {0}: {1} 1 aplicada à soma, o fluxo depois da atenção"
        ),
        Ln1 => (
            "Block {0}: {1} 1, the normalised copy {2} reads (the stream itself is unchanged)",
            "Bloco {0}: {1} 1, a cópia normalizada que {2} lê (o fluxo em si não muda)"
        ),
        PostNormed => (
            "Block {0}: what {1} writes, normalised by its post-norm, about to be added",
            "Bloco {0}: o que {1} escreve, normalizado pela sua pós-norma, prestes a ser somado"
        ),
        Attn => (
            "Block {0}: what {1} writes (attn_out), about to be added",
            "Bloco {0}: o que {1} escreve (attn_out), prestes a ser somado"
        ),
        AttnAdded => (
            "Block {0}: the stream after adding attention, x′ = {1} + attn_out",
            "Bloco {0}: o fluxo depois de somar a atenção, x′ = {1} + attn_out"
        ),
        Ln2Post => (
            "Block {0}: {1} 2 applied to the sum, the stream leaving the block",
            "Bloco {0}: {1} 2 aplicada à soma, o fluxo que sai do bloco"
        ),
        Ln2Parallel => (
            "Block {0}: {1} 2 on the block's input x, the copy {2} reads beside attention \
(parallel block)",
            "Bloco {0}: {1} 2 sobre a entrada x do bloco, a cópia que {2} lê ao lado da atenção \
(bloco paralelo)"
        ),
        Ln2 => (
            "Block {0}: {1} 2, the normalised copy {2} reads (the stream itself is unchanged)",
            "Bloco {0}: {1} 2, a cópia normalizada que {2} lê (o fluxo em si não muda)"
        ),
        MlpOut => (
            "Block {0}: what {1} writes (mlp_out), about to be added",
            "Bloco {0}: o que {1} escreve (mlp_out), prestes a ser somado"
        ),
        MlpAddedParallel => (
            "Block {0}: the stream after the parallel block, x″ = {1} + attn_out + mlp_out",
            "Bloco {0}: o fluxo depois do bloco paralelo, x″ = {1} + attn_out + mlp_out"
        ),
        MlpAdded => (
            "Block {0}: the stream after adding the MLP, x″ = {1} + mlp_out",
            "Bloco {0}: o fluxo depois de somar o MLP, x″ = {1} + mlp_out"
        ),
        LnFinal => (
            "Final {0}: the input of the unembedding",
            "{0} final: a entrada do desembedding"
        ),
        Logits => (
            "Logits: one score per vocabulary token ({0} numbers, not d_model)",
            "Logits: uma nota por token do vocabulário ({0} números, não d_model)"
        ),
    }
}
