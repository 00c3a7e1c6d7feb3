"""Page « Administration » (administrateur) : comptes et rôles (créer, modifier, désactiver, réinitialiser le
mot de passe), objectifs de désimperméabilisation, données du référentiel (source, licence, millésime,
comptes par commune). Chaque écriture est vérifiée et journalisée côté données."""

import pandas as pd
import streamlit as st

from donnees.config import dossier_donnees
from donnees.droits.administration import FAMILLES_PARAMETRES
from donnees.nomenclatures import ROLES
from donnees.erreurs import ErreurDonnees
from donnees.schemas import SCHEMAS
from donnees.sources import lire_sources
from donnees.verification import CONSEILS_IMPORT
from indicateurs.parametres import lire_parametres, lire_table_parametres
from indicateurs.potentiel import FICHIER_POTENTIEL, lire_regles_potentiel
from pages import commun
from donnees.format import formater_horodatage
from vues.format import echapper_markdown, formater_nombre
from vues.methode import formater_parametre
from vues.tableaux import tableau_sessions

SECTIONS = ["Comptes", "Objectifs", "Nouvelles surfaces imperméabilisées", "Paramètres", "Règles du potentiel",
            "Données"]

facade = commun.obtenir_facade()
commun.ouvrir_page_reservee(
    "Administration", facade.peut("gerer_comptes"),
    "Page réservée aux administrateurs du syndicat de bassin", "admin_message")

communes = commun.charger_couche("communes_affichage")
noms = dict(zip(communes["code_insee"], communes["nom"]))
codes = sorted(noms, key=noms.get)
section = st.segmented_control("Section", SECTIONS, default=SECTIONS[0], key="admin_section",
                               label_visibility="collapsed") or SECTIONS[0]


def editer_couche(nom: str, tableau: pd.DataFrame, colonnes: dict, libelle: str, ecrire) -> None:
    """Tableau modifiable d'une couche saisie par le syndicat, enregistré d'un coup par la façade (``ecrire``)."""
    edite = st.data_editor(
        tableau, num_rows="dynamic", hide_index=True, width="stretch", column_config=colonnes,
        key=f"admin_{nom}_{int(pd.util.hash_pandas_object(tableau, index=False).sum())}")  # neuf après écriture
    if st.button(f"Enregistrer les {libelle}", type="primary", icon=":material/save:", key=f"enregistrer_{nom}"):
        def enregistrer():
            complets = edite.dropna(how="all")
            incompletes = complets[complets.isna().any(axis=1)]
            if len(incompletes):
                raise ErreurDonnees(f"{libelle.capitalize()} : {len(incompletes)} ligne(s) incomplète(s) ; remplissez "
                                    "chaque colonne, ou supprimez la ligne.", nom)
            return ecrire(complets, dossier_donnees())

        commun.executer_ecriture(
            enregistrer,
            lambda diff: f"{libelle.capitalize()} : {len(diff)} changement(s) enregistré(s) et journalisé(s)."
            if diff else f"{libelle.capitalize()} : aucun changement.", "admin_message")


def colonne_commune(libelles: dict) -> st.column_config.SelectboxColumn:
    return st.column_config.SelectboxColumn("Territoire", options=list(libelles), required=True,
                                            format_func=libelles.get)


COLONNE_ANNEE = st.column_config.NumberColumn("Année", min_value=1990, max_value=2100, step=1, required=True,
                                              format="%d")


def afficher_objectifs() -> None:
    """Objectifs (m² désimperméabilisés par année, pour le bassin ou une commune), modifiables en tableau."""
    st.caption("Surface à désimperméabiliser **cumulée** à atteindre à la fin de chaque année, pour le bassin "
               "(« bassin ») ou pour une commune. Les pages Vue d'ensemble, Commune et Indicateurs comparent la "
               "trajectoire à ces objectifs.")
    objectifs = commun.charger_couche("objectifs")
    libelles = {"bassin": "Bassin (tout le territoire)", **{c: commun.nommer_commune(c) for c in codes}}
    tableau = pd.DataFrame({"territoire": objectifs["territoire"].astype(str),
                            "annee": objectifs["annee"].astype("Int64"),
                            "surface_m2": objectifs["surface_m2"].astype(float)}).sort_values(["territoire", "annee"])
    editer_couche("objectifs", tableau, {
        "territoire": colonne_commune(libelles), "annee": COLONNE_ANNEE,
        "surface_m2": st.column_config.NumberColumn("Surface cumulée visée (m²)", min_value=0.0, required=True,
                                                    format="localized")}, "objectifs", facade.ecrire_objectifs)


def afficher_nouvelles_surfaces() -> None:
    """Surfaces nouvellement imperméabilisées par commune et par année (dénominateur du ratio SDAGE)."""
    st.caption("m² **nouvellement imperméabilisés** dans l'année, par commune (permis de construire, déclaration de "
               "la commune, ou écart entre deux millésimes OCS GE), avec leur source. C'est le dénominateur du ratio "
               "de compensation SDAGE (cible 150 %).")
    surfaces = commun.charger_couche("nouvelles_surfaces")
    libelles = {c: commun.nommer_commune(c) for c in codes}
    tableau = pd.DataFrame({"code_insee": surfaces["code_insee"].astype(str),
                            "annee": surfaces["annee"].astype("Int64"),
                            "surface_m2": surfaces["surface_m2"].astype(float),
                            "source": surfaces["source"].astype(str)}).sort_values(["code_insee", "annee"])
    editer_couche("nouvelles_surfaces", tableau, {
        "code_insee": colonne_commune(libelles), "annee": COLONNE_ANNEE,
        "surface_m2": st.column_config.NumberColumn("Surface imperméabilisée dans l'année (m²)", min_value=0.0,
                                                    required=True, format="localized"),
        "source": st.column_config.TextColumn("Source", required=True, width="large")},
        "surfaces imperméabilisées", facade.ecrire_nouvelles_surfaces)


def afficher_donnees() -> None:
    """Couches du référentiel : source, licence, millésime, date d'import, nombres (total et par commune)."""
    sources = lire_sources(dossier_donnees())
    territoire = commun.charger_territoire()
    attendues = territoire["codes_insee"]

    def dater(texte) -> str:
        if not texte:
            return ""
        if str(texte).isdigit():  # millésime donné par sa seule année (ex. ADMIN EXPRESS 2018)
            return str(texte)
        try:
            return pd.to_datetime(texte).strftime("%d/%m/%Y" if len(str(texte)) <= 10 else "%d/%m/%Y %H:%M")
        except (ValueError, TypeError):
            return str(texte)

    lignes = []
    for nom, schema in SCHEMAS.items():
        fiche = sources.get(nom, {})
        presente = commun.couche_presente(nom)
        par_commune = fiche.get("par_commune") or {}
        lignes.append({
            "Couche": schema.libelle, "État": "importée" if presente else "absente",
            "Source": fiche.get("source") or ("—" if presente else ""),
            "Licence": fiche.get("licence") or "", "Millésime": dater(fiche.get("millesime")),
            "Importée le": dater(fiche.get("importe_le")),
            "Nombre": formater_nombre(fiche["nombre"], 0) if fiche.get("nombre") is not None else "",
            "Communes couvertes": f"{sum(1 for c in attendues if par_commune.get(c))} / {len(attendues)}"
            if par_commune else "",
            "Comment l'obtenir": CONSEILS_IMPORT.get(nom, "")})
    tableau = pd.DataFrame(lignes)
    st.dataframe(tableau, hide_index=True, width="stretch", height=commun.hauteur_tableau(len(tableau)),
                 column_config={"Source": st.column_config.TextColumn(width="medium"),
                                "Licence": st.column_config.TextColumn(width="medium")})
    attributions = sorted({f["attribution"] for f in sources.values() if f.get("attribution")})
    licences = sorted({(f.get("licence"), f.get("url_licence")) for f in sources.values() if f.get("licence")})
    if attributions:
        st.markdown("**Mentions obligatoires** (à reprendre dans toute réutilisation)  \n"
                    + "  \n".join(attributions))
    for licence, url in licences:
        st.caption(f"Licence : [{licence}]({url})" if url else f"Licence : {licence}")
    if territoire.get("demo"):
        st.info("Territoire de démonstration : contours des communes réels (IGN ADMIN EXPRESS embarqué, étang "
                "de Thau approché), autres couches synthétiques ; elles ne se réimportent pas. Pour "
                "passer à un vrai territoire : `desimper territoire initialiser --nom … --insee … --remplacer` "
                "puis `desimper importer communes` (README, « Charger un vrai territoire »).")
    else:
        st.markdown("**Charger ou mettre à jour une couche** (en ligne de commande, sur le serveur)")
        st.code("desimper importer communes --telecharger\n"
                "desimper importer parcelles --telecharger\n"
                "desimper importer batiments --telecharger\n"
                "desimper importer occupation --depuis OCS_GE_D034.gpkg\n"
                "# hors ligne : --depuis FICHIER… au lieu de --telecharger", language="bash")
    comptes = {nom: fiche.get("par_commune") or {} for nom, fiche in sources.items() if fiche.get("par_commune")}
    if comptes:
        with st.expander("Nombre d'objets par commune"):
            table = pd.DataFrame({SCHEMAS[n].libelle if n in SCHEMAS else n: pd.Series(v, dtype=float)
                                  for n, v in comptes.items()}).reindex(attendues)
            table.insert(0, "Commune", [noms.get(c, c) for c in table.index])
            manquantes = table.drop(columns="Commune").isna() | table.drop(columns="Commune").eq(0)
            if manquantes.any().any():
                st.warning("Des communes n'ont aucun objet dans au moins une couche : voir les cases vides.")
            st.dataframe(table.rename_axis("Code INSEE").reset_index(), hide_index=True, width="stretch")


def afficher_parametres(famille: str = "parametres") -> None:
    """Valeurs propres au territoire d'une famille de paramètres (vide = valeur par défaut du projet) :
    paramètres des modèles, ou règles du score de potentiel (poids, exclusions, facteurs, seuils)."""
    defauts, valider, texte = FAMILLES[famille]
    st.caption(texte)
    territoire = commun.charger_territoire()
    surcharges = territoire.get(famille) or {}
    sources = territoire.get(FAMILLES_PARAMETRES[famille][0]) or {}
    defauts = defauts()
    tableau = pd.DataFrame({
        "code": defauts.index, "libelle": defauts["libelle"].to_numpy(), "unite": defauts["unite"].to_numpy(),
        "defaut": defauts["valeur"].to_numpy(float),
        "bornes": [f"{formater_parametre(a)} – {formater_parametre(b)}"
                   for a, b in zip(defauts["minimum"], defauts["maximum"])],
        "valeur": [float(surcharges[c]) if c in surcharges else None for c in defauts.index],
        "source": [sources.get(c, "") for c in defauts.index]})
    edite = st.data_editor(
        tableau, hide_index=True, width="stretch", disabled=["code", "libelle", "unite", "defaut", "bornes"],
        key=f"admin_{famille}_{int(pd.util.hash_pandas_object(tableau, index=False).sum())}",
        column_config={"code": "Code", "libelle": "Paramètre", "unite": "Unité",
                       "defaut": st.column_config.NumberColumn("Défaut du projet", format="localized"),
                       "bornes": "Bornes",
                       "valeur": st.column_config.NumberColumn("Valeur du territoire", format="localized"),
                       "source": st.column_config.TextColumn("Source de la valeur du territoire", width="large")})
    libelle = FAMILLES_PARAMETRES[famille][1]
    if st.button(f"Enregistrer les {libelle.lower()}", type="primary", icon=":material/save:",
                 key=f"admin_enregistrer_{famille}"):
        retenues = edite[edite["valeur"].notna()]
        commun.executer_ecriture(
            lambda: facade.ecrire_parametres(dict(zip(retenues["code"], retenues["valeur"])),
                                             dict(zip(retenues["code"], retenues["source"])), valider,
                                             dossier_donnees(), famille),
            lambda diff: f"{libelle} enregistrés ({len(diff)} changement(s), journalisés)." if diff
            else f"{libelle} inchangés.", "admin_message")


FAMILLES = {
    "parametres": (lire_table_parametres, lire_parametres,
                   "Laissez « Valeur du territoire » vide pour garder la valeur par défaut du projet. Toute valeur "
                   "propre au territoire doit citer sa source ; la page Méthode l'affiche. Les modèles de chaleur "
                   "et d'eau sont recalculés au prochain affichage."),
    "potentiel": (lambda: lire_table_parametres(FICHIER_POTENTIEL), lire_regles_potentiel,
                  "Règles du score de potentiel de désimperméabilisation (démarche EPODES du Cerema) : poids des "
                  "critères, notes des sols, exclusions, facteurs des contraintes, seuils des classes. Laissez "
                  "« Valeur du territoire » vide pour garder la valeur du projet ; toute valeur propre cite sa "
                  "source. La somme des trois poids doit rester égale à la somme déclarée, sinon rien n'est "
                  "enregistré. La carte du potentiel est recalculée au prochain affichage."),
}


if section == "Paramètres":
    afficher_parametres()
    st.stop()
if section == "Règles du potentiel":
    afficher_parametres("potentiel")
    st.stop()
if section == "Objectifs":
    afficher_objectifs()
    st.stop()
if section == "Nouvelles surfaces imperméabilisées":
    afficher_nouvelles_surfaces()
    st.stop()
if section == "Données":
    afficher_donnees()
    st.stop()

st.subheader("Comptes")
comptes = facade.lire_utilisateurs()
if comptes.empty:
    st.caption("Aucun compte pour l'instant.")
else:
    # Noms des communes à côté des codes, heure de Paris, « jamais » pour un compte qui ne s'est pas connecté.
    affichage = comptes.assign(role=comptes["role"].map(ROLES).fillna(comptes["role"]),
                               communes=comptes["communes"].map(commun.nommer_communes),
                               derniere_connexion=comptes["derniere_connexion"].map(formater_horodatage))
    colonnes = {"nom": "Nom", "email": "Adresse", "role": "Rôle", "communes": "Communes", "actif": "Actif",
                "derniere_connexion": "Dernière connexion (heure de Paris)", "echecs_connexion": "Échecs"}
    commun.afficher_tableau(affichage[[c for c in colonnes if c in affichage.columns]].rename(columns=colonnes),
                            cle="Nom")

with st.expander("Créer un compte", expanded=comptes.empty):
    with st.form("admin_creer"):
        gauche, droite = st.columns(2)
        email = gauche.text_input("Adresse électronique")
        nom = droite.text_input("Nom")
        role = gauche.selectbox("Rôle", list(ROLES), format_func=ROLES.get)
        rattachees = droite.multiselect("Communes (référents)", codes, format_func=commun.nommer_commune,
                                        placeholder=commun.CHOISIR)
        mot_de_passe = st.text_input("Mot de passe (laisser vide pour en générer un)", type="password")
        if st.form_submit_button("Créer le compte", type="primary"):
            def creer():
                secret = mot_de_passe or None
                compte = facade.creer_compte(email, nom, role, rattachees, secret)
                return compte, secret or facade.reinitialiser_mot_de_passe(compte.email)
            commun.executer_ecriture(
                creer, lambda r: f"Compte {echapper_markdown(r[0].email)} créé."
                + ("" if mot_de_passe else f" Mot de passe à transmettre : {r[1]}"), "admin_message")

if not comptes.empty:
    libelles_comptes = dict(zip(comptes["email"], comptes["nom"].astype(str) + " — " + comptes["email"]))
    with st.expander("Modifier un compte"):
        choisi = st.selectbox("Compte", list(comptes["email"]), key="admin_compte", format_func=libelles_comptes.get)
        ligne = comptes.set_index("email").loc[choisi]
        rattachees_avant = ligne.get("communes")
        if isinstance(rattachees_avant, str):
            rattachees_avant = rattachees_avant.replace(" ", "").split(",")
        actuelles = [c for c in (rattachees_avant if isinstance(rattachees_avant, list) else []) if c in noms]
        with st.form("admin_modifier"):
            gauche, droite = st.columns(2)
            nom = gauche.text_input("Nom", value=str(ligne["nom"]))
            role = droite.selectbox("Rôle", list(ROLES), index=list(ROLES).index(ligne["role"]),
                                    format_func=ROLES.get)
            rattachees = st.multiselect("Communes", codes, default=actuelles, format_func=commun.nommer_commune,
                                        placeholder=commun.CHOISIR)
            actif = st.checkbox("Compte actif", value=bool(ligne["actif"]))
            if st.form_submit_button("Enregistrer", type="primary"):
                commun.executer_ecriture(
                    lambda: facade.modifier_compte(choisi, nom=nom, role=role, communes=rattachees, actif=actif),
                    lambda c: f"Compte {echapper_markdown(c.email)} modifié.", "admin_message")
        if st.button("Réinitialiser le mot de passe", key="admin_reinitialiser"):
            commun.executer_ecriture(
                lambda: facade.reinitialiser_mot_de_passe(choisi),
                lambda secret: f"Nouveau mot de passe de {echapper_markdown(choisi)} (à transmettre) : {secret}",
                "admin_message")

if not comptes.empty:
    with st.expander("Sessions ouvertes d'un compte"):
        compte_sessions = st.selectbox("Compte", list(comptes["email"]), key="admin_sessions_compte",
                                       format_func=libelles_comptes.get)
        ouvertes = facade.lire_sessions_compte(compte_sessions)
        if ouvertes:
            st.dataframe(tableau_sessions(ouvertes, marquer_courante=False), hide_index=True, width="stretch")
        else:
            st.caption("Aucune session ouverte pour ce compte.")
        st.caption("Heures de Paris. Une session se ferme seule après une période d'inactivité ou à sa durée "
                   "maximale ; la fermer ici déconnecte aussitôt ce compte sur tous ses navigateurs (journalisé).")
        if st.button("Fermer toutes les sessions de ce compte", icon=":material/logout:", disabled=not ouvertes,
                     key="admin_fermer_sessions"):
            commun.executer_ecriture(
                lambda: facade.fermer_sessions_compte(compte_sessions),
                lambda nombre: f"{nombre} session(s) de {echapper_markdown(compte_sessions)} fermée(s) ; "
                               "fermeture journalisée.", "admin_message")
