"""Page « Retours d'expérience » : galerie des opérations qui partagent ce qu'elles ont appris, avec photos
avant/après, recherche plein texte, filtres de la barre latérale et fiche imprimable."""

import streamlit as st

from donnees.config import dossier_donnees
from donnees.nomenclatures import MOMENTS_PHOTO, lire_types_site
from donnees.photos import resoudre_photo
from pages import commun, fil_echanges
from vues.fiches import construire_fiche_imprimable
from vues.format import echapper_markdown
from vues.images import creer_vignette

PAR_PAGE = 12


@st.cache_data(show_spinner=False, max_entries=512)
def preparer_carte(cle: tuple, filtres: commun.Filtres, ident: int) -> tuple[str | None, bytes]:
    """Vignette « après » et fiche imprimable (HTML) de l'opération ``ident``, préparées une fois par processus
    pour ces données, ces droits (``cle`` : :func:`commun.cle_donnees_affichees`) et ces filtres."""
    operations = commun.charger_operations()
    operation = operations[operations["id"].eq(ident).to_numpy(bool)].iloc[0]
    propres = commun.charger_photos(ident)
    dossier = dossier_donnees()
    apres = propres[propres["moment"].eq("apres")]
    vignette = creer_vignette(resoudre_photo(apres.iloc[0]["chemin"], dossier)) if len(apres) else None
    images = [(MOMENTS_PHOTO.get(p["moment"], ""), p["legende"] or "",
               creer_vignette(resoudre_photo(p["chemin"], dossier))) for _, p in propres.iterrows()]
    indicateurs = commun.calculer_operations(filtres).set_index("operation_id")
    communes = commun.charger_couche("communes_affichage")
    imprimable = construire_fiche_imprimable(
        operation, dict(zip(communes["code_insee"], communes["nom"])).get(operation["code_insee"], ""),
        indicateurs.loc[ident] if ident in indicateurs.index else None, [i for i in images if i[2]])
    return vignette, imprimable.encode("utf-8")


filtres = commun.lire_filtres()
operations = commun.filtrer_operations(commun.charger_operations(), filtres)
operations = operations[operations["retour_experience"].fillna("").astype(str).str.strip().ne("").to_numpy(bool)]
st.title("Retours d'expérience")
st.caption("Ce que les communes ont appris : difficultés, conseils, contacts. Filtres de la barre latérale "
           "et recherche ci-dessous.")
recherche = st.text_input("Rechercher dans les fiches", key="retours_recherche",
                          placeholder="ex. racines, entretien, parents d'élèves, noue")
if recherche.strip():
    texte = recherche.strip().lower()
    contenu = (operations["nom"].fillna("") + " " + operations["description"].fillna("") + " "
               + operations["retour_experience"].fillna("")).str.lower()
    operations = operations[contenu.str.contains(texte, regex=False).to_numpy(bool)]
if operations.empty:
    st.info("Aucun retour d'expérience ne correspond aux filtres et à la recherche.")
    st.stop()

noms = dict(zip(commun.charger_couche("communes_affichage")["code_insee"],
                commun.charger_couche("communes_affichage")["nom"]))
photos = commun.charger_photos()
photos = photos[photos["operation_id"].isin(operations["id"]).to_numpy(bool)]
avec_photos = set(photos["operation_id"])
operations = operations.assign(_photo=operations["id"].isin(avec_photos)).sort_values(
    ["_photo", "annee", "id"], ascending=[False, False, False])
pages = max(1, -(-len(operations) // PAR_PAGE))
page = st.number_input(f"Page (sur {pages})", min_value=1, max_value=pages, value=1, key="retours_page") \
    if pages > 1 else 1
st.caption(f"{len(operations)} fiches.")
types = lire_types_site()
cle = commun.cle_donnees_affichees()
visibles = operations.iloc[(page - 1) * PAR_PAGE: page * PAR_PAGE]
# Fil d'échanges de chaque retour : celui de son opération (le même que sur sa fiche), lu en une fois pour la page ;
# rien pour le public (ni messages ni nombre).
facade = commun.obtenir_facade()
echanges = facade.lire_fils(visibles["id"].astype(int)) if facade.peut("lire_echanges") else None
colonnes = st.columns(3)
for rang, (_, operation) in enumerate(visibles.iterrows()):
    ident = int(operation["id"])
    vignette, imprimable = preparer_carte(cle, filtres, ident)
    with colonnes[rang % 3].container(border=True):
        if vignette:
            st.image(vignette, width="stretch")
        st.text(operation["nom"])
        annee = operation["annee"]
        st.caption(f"{echapper_markdown(noms.get(operation['code_insee'], operation['code_insee']))} · "
                   f"{types.get(operation['type_site'], '')}" + ("" if annee is None or annee != annee
                                                                 else f" · {int(annee)}"))
        st.text(operation["retour_experience"][:280] + ("…" if len(operation["retour_experience"]) > 280 else ""))
        liens = st.columns(2)
        liens[0].page_link("pages/fiche.py", label="Fiche", icon=":material/description:",
                           query_params={"id": str(ident)})
        liens[1].download_button("Imprimer", imprimable, f"fiche_{ident}.html", mime="text/html",
                                 key=f"imprimer_{ident}", icon=":material/print:", on_click="ignore")
        if echanges is not None:
            fil = echanges[echanges["operation_id"].eq(ident).to_numpy(bool)].reset_index(drop=True)
            # Rouvert après une écriture dans ce fil (le libellé change avec le nombre de messages : sans cela le
            # volet se refermerait et cacherait la confirmation).
            ouvert = f"retour_fil_{ident}_message" in st.session_state
            with st.expander(f"Échanges ({int((~fil['masque']).sum())})", icon=":material/forum:", expanded=ouvert):
                fil_echanges.afficher_fil(facade, ident, str(operation["code_insee"]), f"retour_fil_{ident}", fil)
