"""Client websocket du protocole Streamlit, pour les tests multiprocessus et le banc de charge.

Comme le navigateur : un websocket ``/_stcore/stream`` par onglet (sous-protocole « streamlit »), des messages
``BackMsg`` (``rerun_script`` : page, paramètres d'URL) et des ``ForwardMsg`` en retour jusqu'à
``script_finished``. Les cookies (route du mandataire, session Désimper) sont envoyés à la poignée de main,
comme ceux d'un navigateur. Aucun rendu : on mesure le serveur (temps d'une vue, texte affiché, erreurs).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect

DELAI_VUE_S = 120  # au-delà, la vue est comptée en erreur (délai dépassé)


def executer(coroutine):
    """``asyncio.run(coroutine)`` dans un fil à part : l'API synchrone de Playwright (tests navigateur lancés
    avant, dans le même processus pytest) laisse une boucle d'événements active dans le fil principal."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as fil:
        return fil.submit(asyncio.run, coroutine).result()


@dataclass
class Vue:
    """Résultat d'une vue : page, durée (s), textes affichés, exceptions et alertes d'erreur."""

    page: str
    duree_s: float
    textes: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    alertes_erreur: list[str] = field(default_factory=list)
    statut: str = ""

    @property
    def en_erreur(self) -> bool:
        """Exception Python affichée, script non terminé normalement ou délai dépassé."""
        return bool(self.exceptions) or self.statut != "FINISHED_SUCCESSFULLY"

    def contient(self, texte: str) -> bool:
        return any(texte in t for t in self.textes)


def _texte_element(element) -> tuple[str, str]:
    """(genre, texte) d'un élément affiché : markdown, alertes, titres, exceptions."""
    genre = element.WhichOneof("type") or ""
    if genre == "markdown":
        return genre, element.markdown.body
    if genre == "alert":
        return f"alert{element.alert.format}", element.alert.body
    if genre == "exception":
        return genre, f"{element.exception.type}: {element.exception.message}"
    if genre in ("heading", "text", "code"):
        return genre, getattr(element, genre).body
    return genre, ""


def lire_cookies_http(url: str, cookies: dict[str, str] | None = None, delai_s: float = 30) -> dict[str, str]:
    """GET de la page (comme l'ouverture d'un onglet) ; renvoie les cookies posés par la réponse (route du
    mandataire, jeton XSRF de Streamlit) ajoutés à ``cookies``."""
    requete = urllib.request.Request(url)
    if cookies:
        requete.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
    with urllib.request.urlopen(requete, timeout=delai_s) as reponse:
        reponse.read()
        poses = SimpleCookie()
        for entete in reponse.headers.get_all("Set-Cookie") or []:
            poses.load(entete)
    return {**(cookies or {}), **{nom: morceau.value for nom, morceau in poses.items()}}


class ClientStreamlit:
    """Un onglet : ``async with ClientStreamlit(url, cookies) as onglet: vue = await onglet.ouvrir("carte")``."""

    def __init__(self, url: str, cookies: dict[str, str] | None = None, delai_s: float = DELAI_VUE_S):
        self.url = url.rstrip("/")
        self.delai_s = delai_s
        self.cookies = dict(cookies or {})
        self._connexion = None

    async def __aenter__(self) -> ClientStreamlit:
        adresse = self.url.replace("http://", "ws://", 1) + "/_stcore/stream"
        entetes = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        self._connexion = await connect(adresse, subprotocols=["streamlit"], additional_headers=entetes,
                                        max_size=None, open_timeout=self.delai_s, ping_interval=None)
        return self

    async def __aexit__(self, *_) -> None:
        await self._connexion.close()

    async def ouvrir(self, page: str = "", parametres: str = "") -> Vue:
        """Exécute ``page`` (chemin d'URL de st.Page, ``""`` : page par défaut) avec ``parametres`` (« id=3 »)
        et attend ``script_finished`` ; renvoie la vue (durée mesurée côté client)."""
        message = BackMsg()
        etat = message.rerun_script
        etat.query_string = parametres
        etat.page_name = page
        etat.context_info.timezone = "Europe/Paris"
        etat.context_info.locale = "fr-FR"
        etat.context_info.url = f"{self.url}/{page}" + (f"?{parametres}" if parametres else "")
        debut = time.perf_counter()
        await self._connexion.send(message.SerializeToString())
        vue = Vue(page or "(défaut)", 0.0)
        try:
            await asyncio.wait_for(self._recevoir_jusqua_fin(vue), self.delai_s)
        except TimeoutError:
            vue.statut = "DELAI_DEPASSE"
        vue.duree_s = time.perf_counter() - debut
        return vue

    async def _recevoir_jusqua_fin(self, vue: Vue) -> None:
        while True:
            brut = await self._connexion.recv()
            message = ForwardMsg()
            message.ParseFromString(brut)
            genre = message.WhichOneof("type")
            if genre == "delta" and message.delta.WhichOneof("type") == "new_element":
                nature, texte = _texte_element(message.delta.new_element)
                if nature == "exception":
                    vue.exceptions.append(texte)
                elif nature == "alert1":  # Alert.Format.ERROR
                    vue.alertes_erreur.append(texte)
                if texte:
                    vue.textes.append(texte)
            elif genre == "script_finished":
                statut = ForwardMsg.ScriptFinishedStatus.Name(message.script_finished)
                if statut != "FINISHED_EARLY_FOR_RERUN":
                    vue.statut = statut
                    return
