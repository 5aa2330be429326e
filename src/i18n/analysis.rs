//! The analysis's own sentences (`interp`): how the logit lens applies the final norm, where
//! and why the stream stops being the sum of the terms written into it, and why a direct
//! logit attribution could not be made. The
//! contributions and lens views show them in the interface's language; `trace --analysis`
//! writes them in English.

use super::string_table;

string_table! {
    /// A sentence of the analysis.
    AnalysisText {
        // The logit lens's final norm (`LensNorm::describe`).
        NoFinalNorm => (
            "no final LayerNorm: the stream is unembedded directly",
            "sem LayerNorm final: o fluxo vai direto para a matriz de saída"
        ),
        OwnStatisticsApplied => (
            "ln_final applied with each stage's own mean and standard deviation",
            "ln_final aplicada com a média e o desvio padrão de cada estágio"
        ),
        FrozenScaleApplied => (
            "centred, then scaled by ln_final's cached 1/σ of the final stream (frozen scale)",
            "centrado, depois escalado pelo 1/σ do fluxo final guardado pela ln_final (escala \
congelada)"
        ),

        // The decomposition (`interp::terms`).
        ExactEverywhere => (
            "exact at every stage: the stream is the sum of every term written so far",
            "exata em todos os estágios: o fluxo é a soma de todas as parcelas escritas até ali"
        ),
        ExactUntil => (
            "the stream is the sum of all earlier terms up to {0}; from {1} on it is not: {2}",
            "o fluxo é a soma de todas as parcelas anteriores até {0}; a partir de {1}, não é \
mais: {2}"
        ),
        PostLnDivides => (
            "post-LN: layer {0}'s {1} divides the sum by its own scale, so the stream is no \
longer a sum of terms",
            "post-LN: a {1} da camada {0} divide a soma pela própria escala, então o fluxo deixa \
de ser uma soma de parcelas"
        ),
        NotAStreamStage => (
            "{0} is not a residual stream stage",
            "{0} não é um estágio do fluxo residual"
        ),
        PostLnCarries => (
            "post-LN: L0 ln1 rescaled the stream, and every later stream carries that rescaled \
sum",
            "post-LN: a L0 ln1 reescalou o fluxo, e todo fluxo depois dela carrega essa soma \
reescalada"
        ),
        CutZeroed => (
            "an intervention zeroed the residual connection around {0}: the terms written before \
it no longer reach the stream, which is the sum of the terms from there on",
            "uma intervenção zerou a conexão residual em volta de {0}: as parcelas escritas antes \
dela não chegam mais ao fluxo, que é a soma das parcelas dali em diante"
        ),
        CutChanged => (
            "an intervention scaled or replaced the residual connection around {0}: the earlier \
terms reach the stream changed, so it is no longer their sum",
            "uma intervenção escalou ou substituiu a conexão residual em volta de {0}: as parcelas \
anteriores chegam alteradas ao fluxo, que por isso não é mais a soma delas"
        ),
        ResidualOff => (
            "residual connections are off: after each sublayer the stream is that sublayer's \
output alone, not a sum of all earlier terms",
            "as conexões residuais estão desligadas: depois de cada subcamada o fluxo é só a \
saída dessa subcamada, não a soma de todas as parcelas anteriores"
        ),
        PerLayerAttention => (
            "a norm (ln1_post) sits between the heads and the stream, so per-head terms are not \
additive: attention is decomposed per layer (hook_attn_out), where the sum is exact",
            "uma normalização (ln1_post) fica entre as cabeças e o fluxo, então as parcelas por \
cabeça não se somam: a atenção é decomposta por camada (hook_attn_out), onde a soma é exata"
        ),

        // Why there is no direct logit attribution (`AttributionError`).
        NoAttribution => (
            "no direct logit attribution: {0}",
            "sem atribuição direta ao logit: {0}"
        ),
        NoFinalStream => (
            "the decomposition does not include the final stream",
            "a decomposição não inclui o fluxo final"
        ),
    }
}
