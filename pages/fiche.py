"""Page « Fiche opération » : tout ce qu'on sait d'une opération (zones, chiffres, financements, photos,
retour d'expérience, estimation de l'effet de chaleur)."""

import pandas as pd
import streamlit as st

from donnees.agenda import decrire_horaire
from donnees.config import dossier_donnees
from donnees.erreurs import ErreurDonnees
from donnees.nomenclatures import MOMENTS_PHOTO, STATUTS, VALIDATIONS, lire_revetements, lire_types_site
from donnees.photos import resoudre_photo
from indicateurs.catalogue import codes_geometriques, codes_publics, formater_valeur, libelle, lire_catalogue
from indicateurs.chaleur_abords import estimer_chaleur_site
from pages import commun, fil_echanges, qui_avant_moi, ressources_communs
from pages.vues_en_cache import afficher_carte
from services.pairs import chercher_pairs
from vues.cartes import construire_carte_commune
from vues.format import echapper_markdown, formater_nombre
from vues.methode import decrire_compromis_zones

CHIFFRES = ["surface_desimpermeabilisee", "volume_infiltre", "volume_abattu_pluie_reference", "cout_total_ht",
            "taux_aide", "cout_par_m2"]
# Vue publique : chaque chiffre réservé (catalogue, public = non) est remplacé par un chiffre public.
REMPLACANTS_PUBLICS = {"cout_total_ht": "surface_zones", "taux_aide": "surface_active_deconnectee",
                       "cout_par_m2": "volume_stockage"}
CHIFFRES_PUBLICS = [c if c in codes_publics() else REMPLACANTS_PUBLICS[c] for c in CHIFFRES]
CHIFFRES_GEOMETRIQUES = set(codes_geometriques())



@st.cache_data(show_spinner=False, max_entries=256)
def estimer_chaleur(cle: tuple, ident: int) -> dict:
    """Estimation de chaleur par site de l'opération ``ident`` (:func:`estimer_chaleur_site`), calculée une fois
    par processus pour ces données et ces droits (``cle`` : :func:`commun.cle_donnees_affichees`) : la
    projection en Lambert-93 en est l'étape la plus coûteuse."""
    zones = commun.charger_zones()
    return estimer_chaleur_site(zones[zones["operation_id"].eq(ident).to_numpy(bool)], commun.parametres_territoire())


operations = commun.charger_operations()
st.title("Fiche opération")
if operations.empty:
    st.info("Aucune opération enregistrée.")
    st.stop()
communes = commun.noms_communes()
noms = dict(zip(operations["id"].astype(int), operations["nom"].astype(str) + " — "
                + operations["code_insee"].map(lambda c: communes.get(str(c), str(c)))))
demande = commun.lire_identifiant_url("id")
identifiants = sorted(noms)
index = identifiants.index(demande) if demande in noms else 0
ident = st.selectbox("Opération", identifiants, index=index, format_func=lambda i: f"n° {i} · {noms[i]}")
if st.query_params.get("id") != str(ident):
    st.query_params["id"] = str(ident)

operation = operations.set_index("id").loc[ident]
indicateurs = commun.calculer_operations(commun.Filtres()).set_index("operation_id").loc[ident]
zones = commun.charger_zones()
zones = zones[zones["operation_id"].eq(ident).to_numpy(bool)]
types, revetements = lire_types_site(), lire_revetements()["libelle"]

st.subheader(echapper_markdown(operation["nom"]))
st.caption(echapper_markdown(" · ".join(filter(None, [
    commun.nommer_commune(operation["code_insee"]),
    types.get(operation["type_site"], operation["type_site"]), STATUTS.get(operation["statut"]),
    f"validation : {VALIDATIONS.get(operation['validation'], '').lower()}",
    f"fin des travaux : {operation['date_fin_travaux']:%d/%m/%Y}" if pd.notna(operation["date_fin_travaux"]) else None,
    f"maître d'ouvrage : {operation['maitre_ouvrage']}" if isinstance(operation.get("maitre_ouvrage"), str)
    else None]))))
if operation.get("localisation_approximative"):
    st.warning("Localisation approximative : l'opération est placée au centre de la commune, sans géométrie "
               "connue.")
if operation["validation"] == "a_corriger" and isinstance(operation.get("commentaire_validation"), str):
    st.warning(f"À corriger : {echapper_markdown(operation['commentaire_validation'])}")

# Vue publique : ni coût ni aide (CONCEPTION §6).
chiffres = CHIFFRES if commun.couts_visibles() else CHIFFRES_PUBLICS
approximative = bool(operation.get("localisation_approximative"))
colonnes = [*st.columns(3), *st.columns(3)]
for colonne, code in zip(colonnes, chiffres):
    # Sans géométrie connue, surfaces et volumes sont inconnus (« — »), pas nuls : rien n'est inventé.
    inconnu = approximative and code in CHIFFRES_GEOMETRIQUES
    colonne.metric(libelle(code), "—" if inconnu else formater_valeur(code, indicateurs[code]), border=True,
                   help="Inconnu : l'opération n'a pas de géométrie (localisation approximative)." if inconnu else None)
if approximative and pd.notna(operation.get("surface_declaree_m2")):
    st.caption(f"Surface déclarée par la source : {formater_nombre(operation['surface_declaree_m2'], 0, 'm²')} "
               "(non comptée dans les indicateurs tant que les zones ne sont pas dessinées).")

gauche, droite = st.columns([3, 2], gap="large")
with gauche:
    commune = commun.charger_couche("communes")
    # Carte construite une fois par processus pour cette opération, ces données et ces droits.
    afficher_carte(("fiche", commun.cle_donnees_affichees(), ident),
                   lambda: construire_carte_commune(commune[commune["code_insee"] == operation["code_insee"]], zones,
                                                    cadrer_sur_zones=True),
                   key=f"carte_fiche_{ident}", height=420, returned_objects=[])
with droite:
    st.markdown("**Zones**")
    if approximative:
        st.caption("Aucune zone connue : le point sur la carte est un emplacement provisoire au centre de la "
                   "commune. La commune peut dessiner les zones réelles (page Opérations, « Modifier »).")
    else:
        commun.afficher_tableau(pd.DataFrame({
            "Avant": zones["revetement_avant"].map(revetements).to_numpy(),
            "Après": zones["revetement_apres"].map(revetements).to_numpy(),
            "Surface (m²)": zones["surface_m2"].round(0).to_numpy()}), cle="Surface (m²)")  # chiffre clé en vue
        for message in decrire_compromis_zones(zones):  # compromis déclarés (compromis.csv) : pas des gains
            st.warning(message)
        score = estimer_chaleur(commun.cle_donnees_affichees(), ident)
        st.markdown(f"**Chaleur** (estimation par site) : capacité de rafraîchissement "
                    f"{formater_nombre(score['cc_avant'], 2)} → "
                    f"{formater_nombre(score['cc_apres'], 2)} ; effet local estimé sur la température de l'air "
                    f"{formater_valeur('delta_t_site', score['delta_t_site_c'])} {score['libelle']}.",
                    help=lire_catalogue().loc["delta_t_site", "definition"])
    financements = commun.charger_financements()
    financements = financements[financements["operation_id"].eq(ident).to_numpy(bool)]
    if len(financements):
        st.markdown("**Financements**")
        commun.afficher_tableau(pd.DataFrame({"Financeur": financements["financeur"].to_numpy(),
                                              "Montant (€)": financements["montant_eur"].round(0).to_numpy()}))

for titre, champ in (("Description", "description"), ("Retour d'expérience", "retour_experience"),
                     ("Contact", "contact")):
    if isinstance(operation.get(champ), str) and operation[champ].strip():
        st.markdown(f"**{titre}**")
        st.text(operation[champ])

photos = commun.charger_photos(ident)
if len(photos):
    st.markdown("**Photos**")
    colonnes = st.columns(min(len(photos), 3))
    for colonne, (_, photo) in zip(colonnes * 3, photos.iterrows()):
        chemin = resoudre_photo(photo["chemin"], dossier_donnees())
        if chemin is not None:
            colonne.image(str(chemin), caption=echapper_markdown(
                f"{MOMENTS_PHOTO.get(photo['moment'], '')} — {photo['legende'] or ''}"))

facade = commun.obtenir_facade()
# Ressources liées (issue 16, partie 1) : guides, fiches techniques… lisibles par tous ; lier si le rôle le permet.
ressources_communs.afficher_ressources_liees(facade, int(ident), f"ressources_{ident}")

# Agenda : événements liés à l'opération (visite, atelier), lien vers leur fiche dans la page Agenda.
try:
    evenements_lies = facade.lire_evenements_operation(int(ident))
except ErreurDonnees:
    evenements_lies = None
if evenements_lies is not None and len(evenements_lies):
    st.markdown("**Événements liés**")
    for evenement in evenements_lies.to_dict("records"):
        etat = " (annulé)" if evenement["statut"] == "annule" else ""
        quand = decrire_horaire(evenement["debut"], evenement["fin"])
        st.page_link("pages/agenda.py", label=f"{evenement['titre']} — {quand}{etat}", icon=":material/event:",
                     query_params={"id": str(evenement["id"])})

# Qui l'a fait avant moi ? (issue 16, partie 4) : opérations réalisées semblables, leurs communes et, pour un membre
# connecté, les référents consentants de ces communes ; coût comparé seulement s'il est lisible.
st.subheader("Qui l'a fait avant moi ?", anchor="pairs")
qui_avant_moi.afficher_pairs(chercher_pairs(facade, operation_id=int(ident),
                                            indicateurs_operations=commun.calculer_operations(commun.Filtres()),
                                            zones=commun.charger_zones(), noms_communes=communes))

# Échanges : le fil de l'opération (le même que sous son retour d'expérience), réservé aux membres connectés.
if facade.peut("lire_echanges"):
    st.subheader("Échanges", anchor="echanges")
    fil_echanges.afficher_fil(facade, int(ident), str(operation["code_insee"]), f"fil_{ident}")
else:
    st.caption("Questions et réponses entre membres : réservées aux membres connectés (page Connexion).")
