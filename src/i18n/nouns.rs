//! Counted nouns, `"singular|plural"` in each language, for [`count`](super::count).

use super::{Language, string_table};

string_table! {
    /// A noun that follows a number.
    Noun {
        Token => ("token|tokens", "token|tokens"),
        Piece => ("piece|pieces", "pedaço|pedaços"),
        Stage => ("stage|stages", "estágio|estágios"),
        Layer => ("layer|layers", "camada|camadas"),
        Head => ("head|heads", "cabeça|cabeças"),
        Step => ("step|steps", "passo|passos"),
        Parameter => ("parameter|parameters", "parâmetro|parâmetros"),
        Term => ("term|terms", "parcela|parcelas"),
    }
}

impl Noun {
    /// The singular and the plural in `language`.
    pub fn forms(self, language: Language) -> (&'static str, &'static str) {
        self.text(language)
            .split_once('|')
            .expect("every noun is written \"singular|plural\"")
    }
}
