"""Page « Ressources » : bibliothèque partagée de la communauté de pratiques (issue 16, partie 1).

Recherche plein texte (sans accents ni casse) et filtres, liste lisible au téléphone, fiche d'une ressource
(téléchargement en pièce jointe avec son type stocké, ou lien http(s), opérations liées), dépôt et modification
(référents, syndicat), modération (syndicat), thèmes suivis (membres connectés). Les ressources partagées par les
autres territoires de l'instance sont listées en lecture seule, marquées « du territoire X ». Droits vérifiés par
la façade ; texte des membres affiché comme du texte.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from donnees.erreurs import ErreurDonnees
from donnees.fichiers_ressources import (
    decrire_types_acceptes,
    lire_genres_ressource,
    lire_parametres_ressources,
    lire_themes_ressource,
)
from donnees.format import formater_horodatage, formater_nombre
from donnees.magasin.notifications import lire_parametres_echanges
from pages import commun
from pages.ressources_communs import decrire
from services.ressources import rechercher_ressources
from vues.format import echapper_markdown

CLE_MESSAGE = "ressources_message"
genres, themes = lire_genres_ressource(), lire_themes_ressource()
parametres = lire_parametres_ressources()
facade = commun.obtenir_facade()
noms = dict(facade.noms_communes)

commun.ouvrir_page_reservee("Ressources", True, "", CLE_MESSAGE)
st.caption("Bibliothèque partagée : guides, cahiers des charges, fiches techniques de procédés et de matériaux, "
           "appels à projets et subventions avec leur échéance, études.")

ressources = facade.lire_ressources()
partagees, erreurs = commun.lire_ressources_partagees()
for erreur in erreurs:
    st.caption(f"Ressources partagées indisponibles — {echapper_markdown(erreur)}")


# ------------------------------------------------------------------------------------ fiche d'une ressource


def _formulaire(cle: str, actuelle: dict | None = None) -> None:
    """Dépôt (``actuelle`` None) ou modification d'une ressource : fichier OU lien."""
    actuelle = actuelle or {}
    codes_genres = list(genres)
    with st.form(cle, clear_on_submit=False, border=False):
        genre = st.selectbox("Genre", codes_genres, format_func=lambda c: genres[c]["libelle"], key=f"{cle}_genre",
                             index=codes_genres.index(actuelle["genre"]) if actuelle.get("genre") else 0)
        titre = st.text_input("Titre", value=actuelle.get("titre", ""), key=f"{cle}_titre",
                              max_chars=parametres["longueur_max_titre"])
        resume = st.text_area("Résumé", value=actuelle.get("resume", ""), key=f"{cle}_resume",
                              max_chars=parametres["longueur_max_resume"])
        choix_themes = st.multiselect("Thèmes", list(themes), default=actuelle.get("themes", []),
                                      format_func=themes.get, key=f"{cle}_themes", placeholder=commun.CHOISIR)
        choix_communes = st.multiselect("Communes concernées", sorted(noms, key=noms.get),
                                        default=[c for c in actuelle.get("communes", []) if c in noms],
                                        format_func=lambda c: f"{noms[c]} ({c})", key=f"{cle}_communes",
                                        placeholder=commun.CHOISIR)
        echeance = actuelle.get("echeance")
        echeance = st.date_input("Échéance (obligatoire pour un appel à projets ou une subvention)",
                                 value=None if echeance is None or pd.isna(echeance) else pd.Timestamp(echeance).date(),
                                 format="DD/MM/YYYY", key=f"{cle}_echeance")
        st.caption(f"Un fichier OU un lien. Fichiers : {decrire_types_acceptes()} ; au plus "
                   f"{formater_nombre(parametres['taille_max_octets'] / 2**20, 0, 'Mo')}."
                   + (" Sans nouveau fichier ni lien, le document actuel est gardé." if actuelle else ""))
        fichier = st.file_uploader("Fichier", key=f"{cle}_fichier")
        url = st.text_input("Lien (https://…)", value=actuelle.get("url") or "", key=f"{cle}_url",
                            max_chars=parametres["longueur_max_url"])
        partagee = st.checkbox("Partager avec les autres territoires de l'instance",
                               value=bool(actuelle.get("partagee_territoires", False)), key=f"{cle}_partagee")
        envoye = st.form_submit_button("Enregistrer" if actuelle else "Déposer", icon=":material/save:")
    if not envoye:
        return
    saisie = {"genre": genre, "titre": titre, "resume": resume, "themes": choix_themes, "communes": choix_communes,
              "echeance": echeance, "url": url, "partagee_territoires": partagee}
    envoi = (fichier.getvalue(), fichier.name) if fichier is not None else None
    if actuelle:
        if envoi is None and url.strip() == (actuelle.get("url") or ""):
            saisie.pop("url")  # document inchangé
        commun.executer_ecriture(
            lambda: facade.modifier_ressource(int(actuelle["id"]), saisie, int(actuelle["version"]), envoi),
            "Ressource enregistrée.", CLE_MESSAGE)
    else:
        commun.executer_ecriture(
            lambda: facade.creer_ressource(saisie, envoi),
            lambda ident: f"Ressource n° {ident} déposée : les membres qui suivent ses thèmes sont notifiés.",
            CLE_MESSAGE)


def decrire_taille(octets) -> str | None:
    """Taille d'un fichier lisible : octets sous 1 ko (jamais « 0 ko »), ko sous 1 Mo, puis Mo ; None si inconnue."""
    if octets is None or pd.isna(octets):
        return None
    octets = int(octets)
    if octets < 1024:
        return formater_nombre(octets, 0, "octets")
    if octets < 2**20:
        return formater_nombre(octets / 1024, 0, "ko")
    return formater_nombre(octets / 2**20, 1, "Mo")


def _afficher_document(ressource: dict, telecharger, differe: bool = False) -> None:
    """Bouton de téléchargement (fichier) ou lien ; ``telecharger`` rend les octets, lu tout de suite ou, si
    ``differe``, seulement au clic (ressource d'un autre territoire listée parmi d'autres)."""
    if ressource.get("fichier_chemin"):
        st.caption(" · ".join(filter(None, [f"Fichier : {echapper_markdown(ressource['fichier_nom'])}",
                                             decrire_taille(ressource.get("fichier_taille"))])))
        try:
            octets = telecharger if differe else telecharger()
        except ErreurDonnees as erreur:
            st.error(str(erreur))
        else:
            # Pièce jointe avec le type stocké : jamais rendu dans la page.
            st.download_button("Télécharger", data=octets, file_name=ressource["fichier_nom"],
                               mime=ressource["fichier_type"], icon=":material/download:",
                               key=f"telecharger_{ressource.get('territoire_code', '')}_{ressource['id']}")
    elif ressource.get("url"):
        st.link_button("Ouvrir le lien", ressource["url"], icon=":material/open_in_new:")
        st.caption(echapper_markdown(ressource["url"]))


def afficher_fiche(ressource: dict) -> None:
    """Fiche d'une ressource du territoire : document, résumé, opérations liées, modification, modération."""
    ident = int(ressource["id"])
    with st.container(border=True):
        st.subheader(echapper_markdown(ressource["titre"]))
        st.caption(decrire(ressource))
        if ressource.get("communes"):
            st.caption("Communes : " + echapper_markdown(", ".join(noms.get(c, c) for c in ressource["communes"])))
        if ressource.get("auteur_nom"):
            st.caption(f"Déposée par {echapper_markdown(ressource['auteur_nom'])} le "
                       f"{formater_horodatage(ressource['cree_le'])}"
                       + (" · partagée avec les autres territoires" if ressource["partagee_territoires"] else ""))
        if ressource.get("statut") == "masquee":
            st.warning(f"Masquée par le syndicat — motif : {echapper_markdown(ressource.get('motif_masquage'))}")
        if ressource.get("resume"):
            st.text(ressource["resume"])
        _afficher_document(ressource, lambda: facade.lire_fichier_ressource(ident))
        operations = facade.lire_operations_ressource(ident)
        if not operations.empty:
            st.markdown("**Opérations liées**")
            for operation in operations.to_dict("records"):
                commune_op = noms.get(operation["code_insee"], operation["code_insee"])
                st.page_link("pages/fiche.py", label=f"n° {int(operation['id'])} — "
                             f"{echapper_markdown(operation['nom'])} ({echapper_markdown(commune_op)})",
                             icon=":material/description:", query_params={"id": str(int(operation["id"]))})
        if facade.peut_modifier_ressource(ressource):
            with st.expander("Modifier cette ressource"):
                _formulaire(f"ressource_modifier_{ident}", ressource)
            with st.expander("Supprimer cette ressource"):
                st.caption("La ressource, son fichier et ses liens aux opérations disparaissent (gardé au journal).")
                if st.button("Supprimer définitivement", key=f"ressource_supprimer_{ident}", icon=":material/delete:"):
                    st.query_params.pop("id", None)
                    commun.executer_ecriture(lambda: facade.supprimer_ressource(ident),
                                             f"Ressource n° {ident} supprimée.", CLE_MESSAGE)
        if facade.peut("moderer_ressources"):
            if ressource.get("statut") == "masquee":
                if st.button("Restaurer", key=f"ressource_restaurer_{ident}", icon=":material/visibility:"):
                    commun.executer_ecriture(lambda: facade.restaurer_ressource(ident),
                                             f"Ressource n° {ident} republiée.", CLE_MESSAGE)
            else:
                with st.expander("Masquer cette ressource (modération)"):
                    motif = st.text_input("Motif (obligatoire, gardé au journal)", key=f"ressource_motif_{ident}",
                                          max_chars=lire_parametres_echanges()["longueur_max_motif"])
                    if st.button("Masquer", key=f"ressource_masquer_{ident}", icon=":material/visibility_off:"):
                        commun.executer_ecriture(lambda: facade.masquer_ressource(ident, motif),
                                                 f"Ressource n° {ident} masquée.", CLE_MESSAGE)
        if st.button("Fermer la fiche", key="ressource_fermer", icon=":material/close:"):
            st.query_params.pop("id", None)
            st.rerun()


demande = st.query_params.get("id")
if demande:
    try:
        afficher_fiche(facade.lire_ressource(int(demande)))
    except (ErreurDonnees, ValueError) as erreur:
        st.info(str(erreur) if isinstance(erreur, ErreurDonnees) else "Ressource introuvable.")


# ------------------------------------------------------------------------------------ dépôt et thèmes suivis

if facade.peut("creer_ressource"):
    with st.expander("Déposer une ressource", icon=":material/upload_file:"):
        _formulaire("ressource_deposer")
elif not facade.peut("lire_ressources_membres"):
    st.caption("Déposer une ressource, suivre un thème : réservé aux membres connectés (page Connexion).")

if facade.peut("suivre_theme"):
    with st.expander("Thèmes suivis", icon=":material/notifications:"):
        st.caption("Chaque nouvelle ressource d'un thème suivi vous est notifiée (page Notifications, et résumé par "
                   "courriel si vous l'avez choisi).")
        suivis = set(facade.lire_themes_suivis())
        for code, libelle in themes.items():
            coche = st.checkbox(libelle, value=code in suivis, key=f"ressource_suivi_{code}")
            if coche != (code in suivis):
                ecrire = facade.suivre_theme if coche else facade.ne_plus_suivre_theme
                commun.executer_ecriture(
                    lambda c=code, e=ecrire: e(c),
                    f"Vous suivez le thème « {libelle} »." if coche else f"Vous ne suivez plus le thème « {libelle} ».",
                    CLE_MESSAGE)


# ------------------------------------------------------------------------------------ recherche et liste

texte = st.text_input("Rechercher", key="ressources_recherche", placeholder="ex. pavés drainants, cour oasis…",
                      help="Titre, résumé, nom du fichier, genre et thèmes ; sans tenir compte des accents ni des "
                           "majuscules.")
gauche, droite = st.columns(2)
genre = gauche.selectbox("Genre", list(genres), format_func=lambda c: genres[c]["libelle"], index=None,
                         placeholder="Tous", key="ressources_genre")
theme = droite.selectbox("Thème", list(themes), format_func=themes.get, index=None, placeholder="Tous",
                         key="ressources_theme")
gauche, droite = st.columns(2)
commune = gauche.selectbox("Commune", sorted(noms, key=noms.get), format_func=lambda c: noms[c], index=None,
                           placeholder="Toutes", key="ressources_commune")
a_venir = droite.toggle("Échéance à venir", key="ressources_a_venir")

filtres = {"texte": texte, "genre": genre, "theme": theme, "commune": commune, "echeance_a_venir": a_venir}
trouvees = rechercher_ressources(ressources, **filtres)
autres = rechercher_ressources(partagees, **filtres) if not partagees.empty else partagees
st.caption(f"{len(trouvees)} ressource(s) du territoire" + (f", {len(autres)} partagée(s) par d'autres territoires"
                                                              if len(autres) else ""))
if trouvees.empty and autres.empty:
    st.info("Aucune ressource ne répond à cette recherche." if any(filtres.values()) else
            "Aucune ressource pour l'instant." + (" Déposez la première !" if facade.peut("creer_ressource") else ""))

for ligne in trouvees.to_dict("records"):
    with st.container(border=True):
        st.markdown(f"**{echapper_markdown(ligne['titre'])}**" + (" — *masquée*" if ligne["statut"] == "masquee"
                                                                  else ""))
        st.caption(decrire(ligne))
        if st.button("Voir la fiche", key=f"ressource_ouvrir_{int(ligne['id'])}", icon=":material/open_in_full:"):
            st.query_params["id"] = str(int(ligne["id"]))
            st.rerun()

for ligne in autres.to_dict("records"):
    with st.container(border=True):
        st.markdown(f"**{echapper_markdown(ligne['titre'])}**")
        st.caption(f"du territoire {echapper_markdown(ligne['territoire_nom'])} · {decrire(ligne)}")
        with st.expander("Détails (lecture seule)"):
            if ligne.get("resume"):
                st.text(ligne["resume"])
            _afficher_document(ligne, commun.preparer_fichier_partage(ligne["territoire_code"], int(ligne["id"])),
                               differe=True)
