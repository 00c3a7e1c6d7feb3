"""Mise en forme pour les vues : nombres à la française (réexporte :mod:`donnees.format`) et échappement des
textes saisis par les utilisateurs (Markdown, balises des figures)."""

import math
import re

from donnees.format import ESPACE_INSECABLE, formater_nombre  # noqa: F401

# Ponctuation qui ouvre une construction Markdown (GitHub) ou Streamlit : liens et images (« [ ] »), balises
# et liens automatiques (« < > »), code, emphase, barré, titres, formules (« $ »), directives (« :red[…] »,
# « :material/…: »). Chacune est précédée d'une barre oblique inverse, ce qui l'affiche telle quelle
# (CommonMark § 2.4). Sans crochets, « ! » et « ( ) » n'ouvrent plus rien : ils restent tels quels.
PONCTUATION_MARKDOWN = frozenset("\\`*_[]<>#~$:")
# En tête de texte seulement : marques de liste (« - », « + ») et de titre souligné.
DEBUTS_MARKDOWN = frozenset("-+=")
# Liens automatiques de GitHub (« http://… », « www.… ») : reconnus même avec « : » échappé ; un gluon de
# mots invisible (U+2060) après le protocole les empêche, sans changer le texte affiché.
MOTIF_LIEN_AUTOMATIQUE = re.compile(r"(?i)(https?|ftps?|www)(?=\\?[:.])")
GLUON = "\u2060"


def echapper_markdown(texte) -> str:
    """Texte d'utilisateur (nom d'opération, maître d'ouvrage, légende, commune, territoire) à placer dans du
    Markdown Streamlit (st.markdown, st.caption, st.subheader, libellés, légendes d'images) : affiché tel
    quel, jamais interprété (ni image chargée, ni lien, ni titre). Sauts de ligne remplacés par des espaces ;
    None ou NaN : chaîne vide."""
    if texte is None or (isinstance(texte, float) and math.isnan(texte)):
        return ""
    texte = " ".join(str(texte).splitlines())
    echappe = "".join("\\" + c if c in PONCTUATION_MARKDOWN else c for c in texte)
    echappe = MOTIF_LIEN_AUTOMATIQUE.sub(lambda m: m.group(1) + GLUON, echappe)
    return "\\" + echappe if echappe[:1] in DEBUTS_MARKDOWN else echappe


def echapper_balises(texte):
    """Texte d'utilisateur placé dans une figure plotly (catégories, survol) : « < » et « > » en entités, pour
    que ``<a href=…>`` ou ``<img …>`` s'affichent en texte au lieu de devenir un lien ; idempotent. Une
    valeur qui n'est pas un texte est rendue telle quelle."""
    if not isinstance(texte, str):
        return texte
    return texte.replace("<", "&lt;").replace(">", "&gt;")
