//! The "what am I looking at" text of every view (paragraphs separated by blank lines).

use super::string_table;

string_table! {
    /// A view's help text.
    Help {
        Residual => (
            "Every token carries one vector of d_model numbers through the model: its residual \
stream. Each colour cell is one dimension (red positive, blue negative).\n\n\
Attention and the MLP do not replace the vector: they compute something and ADD it, \
x′ = x + attn_out. The three rows in the middle show that sum for the selected stage.\n\n\
The plot shows the length (norm) of the stream and of each addition at every stage (the \
stream's line stays flat until something is added to it); the grid on the right shows that \
norm for every token, so you can pick a token and stage there.",
            "Cada token carrega pelo modelo um vetor de d_model números: o seu fluxo residual. \
Cada célula colorida é uma dimensão (vermelho positivo, azul negativo).\n\n\
A atenção e o MLP não substituem o vetor: eles calculam algo e o SOMAM, x′ = x + attn_out. \
As três linhas do meio mostram essa soma no estágio selecionado.\n\n\
O gráfico mostra o comprimento (norma) do fluxo e de cada soma em todos os estágios (a linha \
do fluxo fica plana até que algo seja somado a ele); a grade à direita mostra essa norma para \
cada token, e um clique nela escolhe o token e o estágio."
        ),
        Attention => (
            "Each head of each layer decides, for every token (a row, the query), how much to \
read from each earlier token (a column, the key). A row's weights sum to 1.\n\n\
Cells above the diagonal are empty: a token cannot look at tokens after it (the causal \
mask).\n\n\
Left: every head of every layer in miniature; click one to enlarge it. Middle: the chosen \
head with token labels; hover a cell for its weight. Right: where the selected token looks.",
            "Cada cabeça de cada camada decide, para cada token (uma linha, a consulta), quanto \
ler de cada token anterior (uma coluna, a chave). Os pesos de uma linha somam 1.\n\n\
As células acima da diagonal ficam vazias: um token não pode olhar para os tokens que vêm \
depois dele (a máscara causal).\n\n\
À esquerda: todas as cabeças de todas as camadas em miniatura; clique em uma para ampliá-la. \
No meio: a cabeça escolhida, com os tokens nas bordas; passe o mouse sobre uma célula para \
ver o peso. À direita: para onde olha o token selecionado."
        ),
        Contributions => (
            "The stream is a sum: the token embedding, the position embedding, then whatever \
each attention head, each attention bias and each MLP added. This view lists those terms for \
the selected token at the selected stage.\n\n\
norm: the length of the term. share: how much of the stream's length it supplies along the \
stream's own direction (shares add up to 1; negative means it points against the stream). \
projection: the same in the stream's units.\n\n\
Direct logit attribution: how much each term of the final stream raises the chosen token's \
logit through the unembedding alone (final LayerNorm scale frozen). The attributions plus a \
constant add up to the logit.\n\n\
At the top, the sum of the terms is drawn beside the stream: they agree up to rounding.",
            "O fluxo é uma soma: o embedding do token, o embedding da posição e depois o que \
cada cabeça de atenção, cada viés da atenção e cada MLP somou. Esta visão lista esses termos \
para o token selecionado no estágio selecionado.\n\n\
norma: o comprimento do termo. parcela: quanto do comprimento do fluxo ele fornece na \
própria direção do fluxo (as parcelas somam 1; negativa quer dizer que aponta contra o \
fluxo). projeção: o mesmo, nas unidades do fluxo.\n\n\
Atribuição direta ao logit: quanto cada termo do fluxo final aumenta o logit do token \
escolhido só pelo desembedding (com a escala da LayerNorm final congelada). As atribuições \
mais uma constante somam o logit.\n\n\
No alto, a soma dos termos aparece ao lado do fluxo: as duas coincidem a menos de \
arredondamento."
        ),
        LogitLens => (
            "What would the model predict if it stopped here? The logit lens takes the \
residual stream at a stage, applies the final LayerNorm and the unembedding, and reads off \
next-token probabilities, as if the remaining layers did not exist.\n\n\
Rows are the prompt's tokens (each predicts the token after it), columns the stages where \
the stream exists, including mid-block (after attention, before the MLP). Each cell shows \
the top prediction and its probability; hover it for the top ten.\n\n\
On a model with a large vocabulary the selected token's row is computed with the trace and \
the other rows follow (the rows on screen first); a cell not computed yet is left blank and \
says so on hover.\n\n\
Colour by the rank of the actual next token to see at which stage the model 'finds' it. \
LayerNorm can use each stage's own statistics (the usual lens) or the final stream's \
scale (the frozen, linear map that direct logit attribution uses).",
            "O que o modelo preveria se parasse aqui? A lente dos logits pega o fluxo residual \
de um estágio, aplica a LayerNorm final e o desembedding e lê as probabilidades do próximo \
token, como se as camadas restantes não existissem.\n\n\
As linhas são os tokens do prompt (cada um prevê o token seguinte); as colunas, os estágios \
em que o fluxo existe, inclusive no meio do bloco (depois da atenção, antes do MLP). Cada \
célula mostra a previsão mais provável e a sua probabilidade; passe o mouse para ver as dez \
primeiras.\n\n\
Num modelo de vocabulário grande, a linha do token selecionado é calculada junto com o \
traço e as outras vêm depois (primeiro as que estão na tela); uma célula ainda não calculada \
fica em branco e diz isso quando o mouse passa sobre ela.\n\n\
Colora pela posição do próximo token de verdade no ranking para ver em que estágio o modelo \
o 'encontra'. A LayerNorm pode usar as estatísticas de cada estágio (a lente usual) ou a \
escala do fluxo final (o mapa linear e congelado que a atribuição direta ao logit usa)."
        ),
        Model => (
            "The model's shape. N is the number of tokens in the prompt and d is d_model, the \
width of the residual stream.\n\n\
Every stage, from the embedding to the final LayerNorm, holds an (N, d) matrix: one d-wide \
vector per token. Attention and the MLP read (N, d) and write (N, d), which is why blocks can \
be stacked as deep as you like. Only the unembedding changes the width, to d_vocab.",
            "A forma do modelo. N é o número de tokens do prompt e d é d_model, a largura do \
fluxo residual.\n\n\
Todo estágio, do embedding à LayerNorm final, guarda uma matriz (N, d): um vetor de largura \
d por token. A atenção e o MLP leem (N, d) e escrevem (N, d); é por isso que os blocos podem \
ser empilhados tão fundo quanto se queira. Só o desembedding muda a largura, para d_vocab."
        ),
        Training => (
            "Train a small model from scratch and watch it learn: every other view shows the \
newest weights while it trains (about ten times a second).\n\n\
Pick a preset (the model's shape) and data: the shipped Shakespeare text, a built-in task, or \
any text file. The loss is in nats per token; the gradient norms show how much each layer is \
being changed.\n\n\
The timeline at the bottom of the window keeps snapshots of the run: drag it to look at any \
past step in every view. Opening another model (a file, a lesson's) closes a finished \
run; a run still going carries on in the background, and the bar at the bottom says so and \
brings it back. The head scores plot how much each head behaves like a \
previous-token, duplicate-token or induction head, measured on repeated random sequences.\n\n\
Tick the residual comparison to train the same deep stack twice, with and without residual \
connections (Lemma 2.2), and plot both.",
            "Treine um modelo pequeno do zero e veja-o aprender: todas as outras visões mostram \
os pesos mais novos durante o treino (cerca de dez vezes por segundo).\n\n\
Escolha um modelo pronto (a forma do modelo) e os dados: o texto de Shakespeare que vem com o \
programa, uma tarefa embutida ou qualquer arquivo de texto. A perda está em nats por token; as \
normas do gradiente mostram quanto cada camada está sendo alterada.\n\n\
A linha do tempo no pé da janela guarda instantâneos do treino: arraste-a para ver qualquer \
passo anterior em todas as visões. Abrir outro modelo (um arquivo, o de uma lição) fecha um \
treino terminado; um treino ainda em andamento continua em segundo plano, e a barra no pé da \
janela avisa e o traz de volta. As notas das cabeças mostram quanto cada cabeça se comporta \
como uma cabeça de token anterior, de token repetido ou de indução, medidas em sequências \
aleatórias repetidas.\n\n\
Marque a comparação residual para treinar a mesma pilha profunda duas vezes, com e sem as \
conexões residuais (Lema 2.2), e ver as duas curvas."
        ),
        Circuits => (
            "How heads talk to each other through the stream, read from the weights alone \
(\"A Mathematical Framework for Transformer Circuits\", Elhage et al., 2021).\n\n\
A head reads the stream through two circuits. Its QK circuit W_Q W_K^T decides where it looks; \
its OV circuit W_V W_O decides what it writes into the stream. A later head can read what an \
earlier head wrote through its queries (Q-composition), its keys (K-composition) or its values \
(V-composition). The map scores every pair: how much of the earlier head's output lands in the \
later head's input, from 0 to 1. The colours start at the score random matrices of the same \
shapes get, so only composition above chance stands out.\n\n\
The induction circuit is K-composition: a previous-token head writes \"the token before me\", \
and the induction head's keys read it. Its OV circuit then copies: the copying score is 1 for \
a head whose full OV circuit maps every token to itself, −1 for one that suppresses it.\n\n\
For the selected head, the tables run its full circuits over the prompt's tokens: OV (what \
attending to a token adds to each token's logit) and QK (how much a query token attends to a \
key token, positions left out). The direct path W_E W_U is what the model predicts from the \
embedding alone, skipping every block. The norms are folded into the matrices that read \
them, as TransformerLens's fold_ln does.",
            "Como as cabeças conversam entre si pelo fluxo, lido só dos pesos (\"A Mathematical \
Framework for Transformer Circuits\", Elhage et al., 2021).\n\n\
Uma cabeça lê o fluxo por dois circuitos. O circuito QK, W_Q W_K^T, decide para onde ela olha; \
o circuito OV, W_V W_O, decide o que ela escreve no fluxo. Uma cabeça posterior pode ler o que \
uma anterior escreveu pelas suas consultas (composição Q), pelas suas chaves (composição K) ou \
pelos seus valores (composição V). O mapa dá uma nota a cada par: quanto da saída da cabeça \
anterior cai na entrada da posterior, de 0 a 1. As cores começam na nota que matrizes \
aleatórias com as mesmas formas recebem, de modo que só a composição acima do acaso se \
destaca.\n\n\
O circuito de indução é composição K: uma cabeça de token anterior escreve \"o token antes de \
mim\", e as chaves da cabeça de indução leem isso. O circuito OV dela então copia: a nota de \
cópia é 1 para uma cabeça cujo circuito OV completo leva cada token a ele mesmo, e −1 para uma \
que o suprime.\n\n\
Para a cabeça selecionada, as tabelas percorrem os circuitos completos sobre os tokens do \
prompt: OV (quanto prestar atenção num token soma ao logit de cada token) e QK (quanto um token \
de consulta presta atenção num token de chave, sem as posições). O caminho direto W_E W_U é o \
que o modelo prevê só a partir do embedding, pulando todos os blocos. As normas são embutidas \
nas matrizes que as leem, como faz o fold_ln do TransformerLens."
        ),
        Features => (
            "The stream carries more ideas than it has dimensions. A sparse autoencoder (SAE) \
reads it through a wide dictionary: thousands of features, only a few active per token, each \
easier to name than a raw dimension.\n\n\
Train one here on a hook of the open model (over the shipped Shakespeare text) or open a \
folder saved by SAELens. The curves show how well it rebuilds the stream (mean squared \
error, explained variance), how many features fire per token (L0), and how many never fire \
(dead).\n\n\
For the selected token: the stream at the hook split into the reconstruction and the error \
the dictionary misses, and the features active there. For a chosen feature: the contexts \
where it fires hardest, how often it fires, and the tokens its decoder direction promotes and \
suppresses through the final norm and the unembedding. Ablate it or steer along it: every \
view, the lens and Generate follow.",
            "O fluxo carrega mais ideias do que tem dimensões. Um autoencoder esparso (SAE) o lê \
por um dicionário largo: milhares de features, só algumas ativas por token, cada uma mais \
fácil de nomear do que uma dimensão crua.\n\n\
Treine um aqui num gancho do modelo aberto (sobre o texto de Shakespeare que vem com o \
programa) ou abra uma pasta salva pelo SAELens. As curvas mostram quão bem ele reconstrói o \
fluxo (erro quadrático médio, variância explicada), quantas features disparam por token (L0) \
e quantas nunca disparam (mortas).\n\n\
Para o token selecionado: o fluxo no gancho dividido em reconstrução e no erro que o \
dicionário não pega, e as features ativas ali. Para uma feature escolhida: os contextos onde \
ela dispara mais forte, com que frequência dispara, e os tokens que a direção do decodificador \
dela promove e suprime pela norma final e pelo desembedding. Remova-a ou empurre o fluxo na \
direção dela: todas as visões, a lente e o Gerar acompanham."
        ),
        Patching => (
            "Activation patching asks where the information that decides an answer lives. Run \
the model on a clean prompt and on a corrupted one that differs in a few tokens; they predict \
different next tokens. Then run the corrupted prompt again, but copy the clean run's \
residual stream at one layer and one position into it.\n\n\
Each cell is the share of the logit difference (answer minus wrong token) that this copy \
restores: 0 means the run still behaves as corrupted, 1 means it behaves as clean. Rows are \
the stream entering each block (resid_pre); columns are positions.\n\n\
Patching every position of a layer restores the clean run exactly: the stream carries \
everything later layers read.",
            "O patching de ativações pergunta onde mora a informação que decide uma resposta. \
Rode o modelo num prompt limpo e num corrompido, que difere em poucos tokens; os dois preveem \
próximos tokens diferentes. Depois rode de novo o prompt corrompido, mas copiando para ele o \
fluxo residual da execução limpa numa camada e numa posição.\n\n\
Cada célula é a fração da diferença de logits (resposta menos token errado) que essa cópia \
recupera: 0 quer dizer que a execução continua corrompida, 1 que ela se comporta como a \
limpa. As linhas são o fluxo que entra em cada bloco (resid_pre); as colunas, as posições.\n\n\
Copiar todas as posições de uma camada recupera exatamente a execução limpa: o fluxo carrega \
tudo o que as camadas seguintes leem."
        ),
    }
}
